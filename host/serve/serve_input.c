/* serve_input.c: a /api/predict request body to the input the model sees (serve_api.h): an
 * image file through the same preprocessing as `clmnist predict` (photo_to_mnist for an MNIST-like
 * grey model, a plain resize of each RGB plane for a colour one), or JSON pixels; the body may be
 * a multipart/form-data upload whose field "file" holds either. Nothing here touches the HTTP
 * server: the fuzz target (tests/fuzz/fuzz_serve_body.c) calls it as is. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image.h"
#include "image_rgb.h"
#include "serve_api.h"

/* What a request is read into: the model's input shape, its preprocessing, and the image. */
typedef struct {
    cm_shape shape;
    cm_input_prep prep;
    uint8_t *image; /* shape.c * shape.h * shape.w */
    int *want_input, *inverted, *unclear;
} target;

static size_t target_size(const target *t) {
    return (size_t)t->shape.c * (size_t)t->shape.h * (size_t)t->shape.w;
}

/* Content-Type without its parameters, compared case-insensitively; a want ending in '/' is a
 * prefix ("image/" matches "image/png"). */
static int type_is(const char *type, const char *want) {
    if (!type) return 0;
    while (*type == ' ')
        type++;
    size_t n = strlen(want);
    if (strncasecmp(type, want, n) != 0) return 0;
    if (want[n - 1] == '/') return type[n] != 0 && type[n] != ';';
    return type[n] == 0 || type[n] == ';' || type[n] == ' ';
}

static int parse_invert(const char *text, cm_invert *inv) {
    if (!text || !strcmp(text, "auto"))
        *inv = CM_INVERT_AUTO;
    else if (!strcmp(text, "yes"))
        *inv = CM_INVERT_YES;
    else if (!strcmp(text, "no"))
        *inv = CM_INVERT_NO;
    else
        return 400;
    return 0;
}

static int fail400(const char *fmt, const char *arg) {
    cm_fail(CM_ERR_USAGE, fmt, arg);
    return 400;
}

/* The preprocessing's message in HTTP's words: its command-line hint names the request's
 * parameter instead. */
static int http_words(void) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", cm_last_error());
    char *hint = strstr(msg, "; check --invert");
    if (hint) {
        *hint = 0;
        cm_fail(CM_ERR_FORMAT, "%s; check the invert parameter (auto, yes or no)%s", msg, hint + 16);
    }
    return 400;
}

/* A colour model's input: each RGB plane resized to the model's size, as its training images
 * were (image_rgb.h); a grey file's value goes to all three planes. */
static int read_rgb(const uint8_t *body, size_t len, const char *invert_q, const target *t) {
    if (invert_q && strcmp(invert_q, "auto") != 0)
        return fail400("invert=%s: a colour model's images are never inverted (leave invert out)", invert_q);
    return image_rgb_for_model("the image", body, len, t->shape.h, t->shape.w, t->image) == CM_OK ? 0 : 400;
}

static int read_image(const uint8_t *body, size_t len, const char *invert_q, const target *t) {
    if (t->shape.c == 3) return read_rgb(body, len, invert_q, t);
    cm_invert inv;
    if (parse_invert(invert_q, &inv)) return fail400("invert=%s: expected auto, yes or no", invert_q);
    int w, h;
    uint8_t *gray = NULL; /* the decoders check the header's size (at most 2^26 pixels) before allocating */
    if (image_decode_gray_mem(body, len, "the image", &gray, &w, &h) != CM_OK) return 400;
    if ((size_t)w * (size_t)h > CM_SERVE_MAX_PIXELS) {
        free(gray);
        cm_fail(CM_ERR_FORMAT, "the image: %dx%d is too large (at most %zu pixels)", w, h, CM_SERVE_MAX_PIXELS);
        return 400;
    }
    cm_prep_info info;
    cm_status st = image_for_model_info(gray, w, h, t->prep, inv, t->shape.h, t->shape.w, "the image", t->image, &info);
    free(gray);
    *t->inverted = info.inverted, *t->unclear = info.unclear;
    return st == CM_OK ? 0 : http_words();
}

/* "pixels": exactly C*H*W finite numbers in [0, 1] (row by row, a colour model's planes red,
 * green, blue in turn), quantised to 8 bits as MNIST's are. */
static int read_pixels(const cJSON *arr, const target *t, uint8_t *out) {
    int want = (int)target_size(t);
    if (!cJSON_IsArray(arr)) {
        cm_fail(CM_ERR_USAGE, "\"pixels\" must be an array of %d numbers in 0..1", want);
        return 400;
    }
    int n = cJSON_GetArraySize(arr);
    if (n != want) {
        cm_fail(CM_ERR_USAGE, "\"pixels\" has %d values; the model takes %d (%dx%dx%d: %s)", n, want, t->shape.c,
                t->shape.h, t->shape.w, t->shape.c == 1 ? "row by row" : "each channel's plane in turn, row by row");
        return 400;
    }
    int i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!isfinite(v) || v < 0.0 || v > 1.0) {
            cm_fail(CM_ERR_USAGE, "\"pixels\"[%d] is not a number in 0..1", i);
            return 400;
        }
        out[i] = (uint8_t)lround(v * 255.0);
    }
    return 0;
}

static int flag(const cJSON *root, const char *key, int *out) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!f) return 0;
    if (!cJSON_IsBool(f)) return fail400("\"%s\" must be true or false", key);
    *out = cJSON_IsTrue(f);
    return 0;
}

/* The drawing's preprocessing, as an uploaded image's: a grey model only. */
static int preprocess_raw(const uint8_t *raw, cm_invert inv, const target *t) {
    if (t->shape.c != 1)
        return fail400("%s", "\"preprocess\": a colour model's pixels are used as they are (leave it out)");
    cm_prep_info info;
    if (image_for_model_info(raw, t->shape.w, t->shape.h, t->prep, inv, t->shape.h, t->shape.w, "the drawing", t->image,
                             &info) != CM_OK)
        return http_words();
    *t->inverted = info.inverted, *t->unclear = info.unclear;
    return 0;
}

static int read_json(const uint8_t *body, size_t len, const target *t) {
    cJSON *root = cJSON_ParseWithLength((const char *)body, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail400("%s", "the body is not a JSON object (expected {\"pixels\": [numbers in 0..1]})");
    }
    int pre = 0, code = flag(root, "preprocess", &pre);
    if (!code) code = flag(root, "return_input", t->want_input);
    uint8_t *raw = pre ? malloc(target_size(t)) : t->image;
    if (!raw) code = fail400("%s", "out of memory");
    if (!code) code = read_pixels(cJSON_GetObjectItemCaseSensitive(root, "pixels"), t, raw);
    cm_invert inv = CM_INVERT_AUTO;
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(root, "invert");
    if (!code && iv && (!cJSON_IsString(iv) || parse_invert(iv->valuestring, &inv)))
        code = fail400("%s", "\"invert\" must be \"auto\", \"yes\" or \"no\"");
    cJSON_Delete(root);
    if (!code && pre) code = preprocess_raw(raw, inv, t);
    if (raw != t->image) free(raw);
    return code;
}

/* ---- multipart/form-data (RFC 7578): the part named "file" ------------------------------------ */

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t m) {
    for (const uint8_t *p = hay, *end = hay + n; m <= (size_t)(end - p);) {
        const uint8_t *q = memchr(p, needle[0], (size_t)(end - p) - m + 1);
        if (!q) return NULL;
        if (!memcmp(q, needle, m)) return q;
        p = q + 1;
    }
    return NULL;
}

/* The boundary parameter of a multipart Content-Type (quoted or not), 1 to 70 characters. */
static int boundary_of(const char *type, char out[80]) {
    const char *b = type;
    while (*b && strncasecmp(b, "boundary=", 9) != 0)
        b++;
    if (!*b) return 0;
    b += 9;
    int quoted = *b == '"';
    b += quoted;
    size_t n = quoted ? strcspn(b, "\"") : strcspn(b, "; \t");
    if (n < 1 || n > 70) return 0;
    snprintf(out, 80, "--%.*s", (int)n, b);
    return 1;
}

/* Whether a part's headers (up to the blank line) name the field "file". */
static int names_file(const uint8_t *h, size_t n) {
    for (const uint8_t *p = h; (p = find(p, n - (size_t)(p - h), "name=", 5)) != NULL; p += 5) {
        int whole = p == h || p[-1] == ' ' || p[-1] == ';' || p[-1] == '\t';
        size_t left = n - (size_t)(p - h) - 5;
        if (whole && left >= 6 && !memcmp(p + 5, "\"file\"", 6)) return 1;
        if (whole && left >= 4 && !memcmp(p + 5, "file", 4) && (left == 4 || strchr(";\r\n \t", p[9]))) return 1;
    }
    return 0;
}

/* The bytes of the part named "file": *part and *part_len; 0, or 400 with a message. */
static int multipart_file(const char *type, const uint8_t *body, size_t len, const uint8_t **part, size_t *part_len) {
    char delim[84] = "\r\n";
    if (!boundary_of(type, delim + 2)) return fail400("%s", "multipart/form-data without a valid boundary parameter");
    size_t dn = strlen(delim);
    /* the first delimiter may open the body without its CRLF */
    int opens = len >= dn - 2 && !memcmp(body, delim + 2, dn - 2);
    const uint8_t *p = opens ? body : find(body, len, delim, dn);
    for (size_t skip = opens ? dn - 2 : dn; p; skip = dn) {
        p += skip;
        size_t left = len - (size_t)(p - body);
        if (left >= 2 && p[0] == '-' && p[1] == '-') break; /* the closing delimiter */
        const uint8_t *hend = find(p, left, "\r\n\r\n", 4);
        if (!hend) break;
        const uint8_t *data = hend + 4, *next = find(data, len - (size_t)(data - body), delim, dn);
        if (!next) break;
        if (names_file(p, (size_t)(hend - p))) {
            *part = data;
            *part_len = (size_t)(next - data);
            return 0;
        }
        p = next;
    }
    return fail400("%s", "multipart/form-data: no complete part named \"file\" (send the image as -F file=@digit.png)");
}

/* JSON or an image file, told apart by the bytes. */
static int read_detected(const uint8_t *body, size_t len, const char *invert_q, const target *t) {
    size_t i = 0;
    while (i < len && body[i] && strchr(" \t\r\n", body[i]))
        i++;
    if (i < len && body[i] == '{') return read_json(body, len, t);
    return read_image(body, len, invert_q, t);
}

int serve_decode_body(const char *content_type, const uint8_t *body, size_t len, const char *invert_q,
                      const cm_serve_input *in, uint8_t *image, int *want_input, int *inverted, int *unclear) {
    *inverted = -1, *unclear = 0;
    const target t = {in->shape, in->prep, image, want_input, inverted, unclear};
    if (!body) body = (const uint8_t *)"", len = 0;
    if (type_is(content_type, "application/json")) return read_json(body, len, &t);
    if (type_is(content_type, "image/") || type_is(content_type, "application/octet-stream"))
        return read_detected(body, len, invert_q, &t);
    if (type_is(content_type, "multipart/form-data")) {
        const uint8_t *part;
        size_t n;
        int code = multipart_file(content_type, body, len, &part, &n);
        return code ? code : read_detected(part, n, invert_q, &t);
    }
    cm_fail(CM_ERR_USAGE,
            "Content-Type '%s': send an image (image/png, image/jpeg, ...), application/octet-stream, "
            "multipart/form-data (field \"file\") or application/json",
            content_type ? content_type : "(none)");
    return 415;
}
