/* model_file_util.h: helpers shared by the model-file tests (test_model_io*.c): a temporary
 * directory per test program, forged safetensors files, the expected-error check, the raw JSON
 * header of a file and tensor-by-tensor comparison. Header-only (static functions); needs
 * cmocka. */
#ifndef CLMNIST_TEST_MODEL_FILE_UTIL_H
#define CLMNIST_TEST_MODEL_FILE_UTIL_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "model_io.h"

static char mf_dir[256];

static __attribute__((unused)) const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", mf_dir, name);
    return buf[k];
}

static __attribute__((unused)) int group_setup(void **state) {
    snprintf(mf_dir, sizeof mf_dir, "/tmp/clmnist-test-model-XXXXXX");
    return mkdtemp(mf_dir) ? 0 : -1;
}

static __attribute__((unused)) int group_teardown(void **state) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mf_dir);
    return system(cmd);
}

/* Writes a safetensors file: the header length (claimed_len, or the header's own when < 0), the
 * header, then `data` (data_len bytes; NULL: a byte pattern). */
static __attribute__((unused)) const char *forge_data(const char *name, const char *header, const void *data,
                                                      size_t data_len, int64_t claimed_len) {
    const char *p = tmp_path(name);
    FILE *f = fopen(p, "wb");
    uint64_t n = claimed_len >= 0 ? (uint64_t)claimed_len : strlen(header);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)(n >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_len; i++)
        fputc(data ? ((const uint8_t *)data)[i] : (int)(i * 7 % 251), f);
    fclose(f);
    return p;
}

static __attribute__((unused)) const char *forge(const char *name, const char *header, size_t data_len,
                                                 int64_t claimed_len) {
    return forge_data(name, header, NULL, data_len, claimed_len);
}

/* Loading path fails with CM_ERR_FORMAT and a one-line message naming the file and containing needle. */
static __attribute__((unused)) void expect_format_error(const char *path, const char *needle) {
    cm_model_file f;
    cm_status st = model_file_load(path, CM_PARAM_ALIGN_BYTES, &f);
    const char *msg = cm_last_error();
    if (st != CM_ERR_FORMAT || !strstr(msg, needle) || !strstr(msg, path) || strchr(msg, '\n'))
        fail_msg("%s: want a one-line format error containing '%s', got %d: %s", path, needle, st,
                 st == CM_OK ? "it loaded" : msg);
    if (st == CM_OK) model_file_free(&f);
}

/* The whole file: its parsed JSON header (*root), and a malloc'd copy of its data section. */
static __attribute__((unused)) void read_file_parts(const char *path, cJSON **root, uint8_t **data, size_t *len) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)size);
    assert_int_equal(fread(buf, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    assert_true(hlen % 8 == 0 && 8 + hlen <= (uint64_t)size);
    *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hlen);
    assert_non_null(*root);
    *len = (size_t)size - 8 - (size_t)hlen;
    *data = malloc(*len ? *len : 1);
    memcpy(*data, buf + 8 + hlen, *len);
    free(buf);
}

/* Every tensor of L (trainable ones only when trainable_only) is bitwise equal in a and b. */
static __attribute__((unused)) void assert_tensors_equal(const cm_layout *L, const float *a, const float *b,
                                                         int trainable_only) {
    cm_tensor t[CM_MAX_TENSORS];
    int n = model_tensors(L, t);
    for (int i = 0; i < n; i++)
        if (t[i].trainable || !trainable_only)
            if (memcmp(a + t[i].offset, b + t[i].offset, t[i].numel * sizeof(float)) != 0)
                fail_msg("tensor layers.%d.%s differs", t[i].layer, t[i].name);
}

#endif
