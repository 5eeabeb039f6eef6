/* test_dataset.c: the IDX loader on good files (raw, gzip, both spellings) and on every kind of
 * malformed file: each must fail with an error naming the file and the problem. Fixtures are
 * generated here in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "check.h"
#include "dataset.h"

static char dir[256];

static void path_of(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

/* Writes a 4-file dataset: n_train/n_test images of r x c, labels i % classes. */
static void make_dataset(const char *sub, int n_train, int n_test, int r, int c, int classes, int gz, int dotted) {
    char d[512], p[600];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    mkdir(d, 0755);
    int counts[2] = {n_train, n_test};
    const char *stems[2][2] = {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
                               {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}};
    const char *dotted_stems[2][2] = {{"train-images.idx3-ubyte", "train-labels.idx1-ubyte"},
                                      {"t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"}};
    for (int s = 0; s < 2; s++) {
        int n = counts[s];
        uint8_t *img = malloc((size_t)n * r * c), *lab = malloc((size_t)n);
        for (int i = 0; i < n * r * c; i++)
            img[i] = (uint8_t)(i * 7 + s);
        for (int i = 0; i < n; i++)
            lab[i] = (uint8_t)(i % classes);
        uint32_t idims[3] = {(uint32_t)n, (uint32_t)r, (uint32_t)c}, ldims[1] = {(uint32_t)n};
        const char *const *st = dotted ? dotted_stems[s] : stems[s];
        snprintf(p, sizeof p, "%s/%s%s", d, st[0], gz ? ".gz" : "");
        write_idx(p, 0x08, 3, idims, img, (size_t)n * r * c, gz);
        snprintf(p, sizeof p, "%s/%s%s", d, st[1], gz ? ".gz" : "");
        write_idx(p, 0x08, 1, ldims, lab, (size_t)n, gz);
        free(img);
        free(lab);
    }
}

static int setup(void **state) {
    snprintf(dir, sizeof dir, "/tmp/clmnist-test-dataset-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_load_raw_and_gz(void **state) {
    for (int gz = 0; gz < 2; gz++) {
        for (int dotted = 0; dotted < 2; dotted++) {
            char sub[32], d[300];
            snprintf(sub, sizeof sub, "good_%d_%d", gz, dotted);
            make_dataset(sub, 50, 20, 5, 3, 10, gz, dotted);
            snprintf(d, sizeof d, "%s/%s", dir, sub);
            cm_dataset ds;
            assert_int_equal(dataset_load_dir(d, 0, &ds), CM_OK);
            assert_int_equal(ds.train.count, 50);
            assert_int_equal(ds.test.count, 20);
            assert_int_equal(ds.train.rows, 5);
            assert_int_equal(ds.train.cols, 3);
            assert_int_equal(ds.train.dim, 15);
            assert_int_equal(ds.classes, 10);
            /* Pixels are exactly what was written, as uint8. */
            for (int i = 0; i < 50 * 15; i++)
                assert_int_equal(ds.train.images[i], (uint8_t)(i * 7));
            for (int i = 0; i < 20; i++)
                assert_int_equal(ds.test.labels[i], i % 10);
            assert_string_equal(ds.name, sub);
            dataset_free(&ds);
        }
    }
}

static void test_validation_split(void **state) {
    make_dataset("val", 50, 20, 4, 4, 10, 0, 0);
    char d[300];
    snprintf(d, sizeof d, "%s/val", dir);
    cm_dataset ds;
    assert_int_equal(dataset_load_dir(d, 12, &ds), CM_OK);
    assert_int_equal(ds.train.count, 38);
    assert_int_equal(ds.test.count, 12);
    assert_int_equal(ds.heldout.count, 20);
    /* The validation split is the tail of the training file. */
    assert_int_equal(ds.test.labels[0], 38 % 10);
    assert_int_equal(ds.test.images[0], (uint8_t)(38 * 16 * 7));
    dataset_free(&ds);
    assert_int_equal(dataset_load_dir(d, 50, &ds), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "--val"));
}

/* Expects dataset_read_idx(path) to fail with CM_ERR_FORMAT and a message naming the file and `what`. */
static void expect_bad(const char *name, int ndims, const char *what) {
    char p[400];
    path_of(p, sizeof p, name);
    uint32_t dims[3];
    uint8_t *data = NULL;
    cm_clear_error();
    cm_status st = dataset_read_idx(p, ndims, dims, &data);
    if (st == CM_OK || !strstr(cm_last_error(), p) || !strstr(cm_last_error(), what))
        fprintf(stderr, "%s: status %d, message '%s', expected to mention '%s'\n", name, st, cm_last_error(), what);
    assert_int_equal(st, CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), p));
    assert_non_null(strstr(cm_last_error(), what));
    assert_null(data);
}

static void test_malformed_files(void **state) {
    char p[400];
    uint8_t px[64];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(i * 3);
    uint32_t d3[3] = {4, 4, 4}, d1[1] = {64};

    path_of(p, sizeof p, "short");
    write_file(p, "\0\0", 2, 0);
    expect_bad("short", 3, "truncated");

    path_of(p, sizeof p, "magic");
    write_file(p, "PK\x03\x04zzzzzzzzzzzzzzzz", 20, 0);
    expect_bad("magic", 3, "not an IDX file");

    path_of(p, sizeof p, "dtype");
    write_idx(p, 0x0D, 3, d3, px, 64, 0);
    expect_bad("dtype", 3, "dtype 0x0d");

    path_of(p, sizeof p, "ndims");
    write_idx(p, 0x08, 1, d1, px, 64, 0);
    expect_bad("ndims", 3, "dimensions, expected 3");

    path_of(p, sizeof p, "header_cut");
    write_file(p, "\0\0\x08\x03\0\0\0\x04\0\0", 10, 0);
    expect_bad("header_cut", 3, "header needs 16");

    path_of(p, sizeof p, "data_cut");
    write_idx(p, 0x08, 3, d3, px, 60, 0);
    expect_bad("data_cut", 3, "truncated: header declares 64 data bytes, file holds 60");

    path_of(p, sizeof p, "data_cut.gz");
    write_idx(p, 0x08, 3, d3, px, 63, 1);
    expect_bad("data_cut.gz", 3, "truncated");

    path_of(p, sizeof p, "trailing");
    uint8_t more[70] = {0};
    write_idx(p, 0x08, 3, d3, more, 70, 0);
    expect_bad("trailing", 3, "6 unexpected bytes");

    path_of(p, sizeof p, "zero_dim");
    uint32_t dz[3] = {4, 0, 4};
    write_idx(p, 0x08, 3, dz, px, 0, 0);
    expect_bad("zero_dim", 3, "dimension 1 is 0");

    /* A forged header claiming 4e9 x 4e9 x 4e9 bytes must not cause a huge allocation. */
    path_of(p, sizeof p, "forged");
    uint32_t huge[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    write_idx(p, 0x08, 3, huge, px, 64, 0);
    expect_bad("forged", 3, "forged or corrupt header");

    /* Plausible header, but far more data declared than present. */
    path_of(p, sizeof p, "forged_count");
    uint32_t many[3] = {60000, 28, 28};
    write_idx(p, 0x08, 3, many, px, 64, 0);
    expect_bad("forged_count", 3, "header declares 47040000 data bytes, file holds 64");

    /* A gzip file whose compressed stream is cut in the middle. */
    path_of(p, sizeof p, "cut.gz");
    uint8_t big[4096];
    cm_rng rng;
    rng_seed(&rng, 5, 5);
    for (int i = 0; i < 4096; i++)
        big[i] = (uint8_t)rng_next_u32(&rng);
    uint32_t dbig[3] = {16, 16, 16};
    write_idx(p, 0x08, 3, dbig, big, 4096, 1);
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fclose(f);
    assert_int_equal(truncate(p, len / 2), 0);
    expect_bad("cut.gz", 3, "gzip");
}

/* The bytes of the file at path (malloc'd) and their count. */
static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* dataset_parse_idx on bytes in memory: raw, gzip, a gzip file in two members (as gzip writes
 * concatenated files), gzip followed by bytes that start no member (ignored, as gzread does). */
static void test_parse_in_memory(void **state) {
    uint8_t file[4 + 12 + 48], px[48];
    uint32_t d3[3] = {3, 4, 4};
    file[0] = file[1] = 0;
    file[2] = 0x08;
    file[3] = 3;
    for (int i = 0; i < 3; i++)
        put_be32(file + 4 + 4 * i, d3[i]);
    for (int i = 0; i < 48; i++)
        file[16 + i] = px[i] = (uint8_t)(i * 5);
    char p[400];
    path_of(p, sizeof p, "half1.gz");
    write_file(p, file, 30, 1);
    size_t n1, n2;
    uint8_t *gz1 = slurp(p, &n1);
    path_of(p, sizeof p, "half2.gz");
    write_file(p, file + 30, sizeof file - 30, 1);
    uint8_t *gz2 = slurp(p, &n2);
    uint8_t *both = malloc(n1 + n2 + 3);
    memcpy(both, gz1, n1);
    memcpy(both + n1, gz2, n2);
    memcpy(both + n1 + n2, "\0\0\x1f", 3);
    const struct {
        const uint8_t *bytes;
        size_t len;
    } good[] = {{file, sizeof file}, {both, n1 + n2}, {both, n1 + n2 + 3}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        uint32_t dims[3];
        uint8_t *data = NULL;
        assert_int_equal(dataset_parse_idx(good[k].bytes, good[k].len, "mem", 3, dims, &data), CM_OK);
        assert_int_equal(dims[0], 3);
        assert_memory_equal(data, px, 48);
        free(data);
    }
    uint32_t dims[3];
    uint8_t *data = NULL;
    assert_int_equal(dataset_parse_idx(gz1, n1, "mem", 3, dims, &data), CM_ERR_FORMAT); /* the first half only */
    assert_non_null(strstr(cm_last_error(), "mem: truncated"));
    assert_int_equal(dataset_parse_idx(both, n1 - 3, "mem", 3, dims, &data), CM_ERR_FORMAT); /* cut in its trailer */
    assert_non_null(strstr(cm_last_error(), "mem: corrupt or truncated gzip data"));
    both[n1 - 5] ^= 1; /* its CRC */
    assert_int_equal(dataset_parse_idx(both, n1 + n2, "mem", 3, dims, &data), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "gzip"));
    assert_int_equal(dataset_parse_idx(file, 0, "mem", 3, dims, &data), CM_ERR_FORMAT);
    assert_null(data);
    free(gz1);
    free(gz2);
    free(both);
}

static void test_missing_and_mismatched(void **state) {
    cm_dataset ds;
    char d[300];
    snprintf(d, sizeof d, "%s/nothing_here", dir);
    assert_int_equal(dataset_load_dir(d, 0, &ds), CM_ERR_IO);
    assert_non_null(strstr(cm_last_error(), "train-images-idx3-ubyte"));
    assert_non_null(strstr(cm_last_error(), "data/fetch mnist"));

    /* image/label count disagreement */
    make_dataset("mismatch", 30, 10, 4, 4, 10, 0, 0);
    char p[400];
    snprintf(p, sizeof p, "%s/mismatch/train-labels-idx1-ubyte", dir);
    uint8_t lab[29] = {0, 1, 2, 3};
    uint32_t d1[1] = {29};
    write_idx(p, 0x08, 1, d1, lab, 29, 0);
    snprintf(d, sizeof d, "%s/mismatch", dir);
    assert_int_equal(dataset_load_dir(d, 0, &ds), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "holds 29 labels but"));

    /* a test label outside the classes seen in training */
    make_dataset("badlabel", 30, 10, 4, 4, 10, 0, 0);
    snprintf(p, sizeof p, "%s/badlabel/t10k-labels-idx1-ubyte", dir);
    uint8_t tl[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 200};
    uint32_t d10[1] = {10};
    write_idx(p, 0x08, 1, d10, tl, 10, 0);
    snprintf(d, sizeof d, "%s/badlabel", dir);
    assert_int_equal(dataset_load_dir(d, 0, &ds), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "label 200 at index 9"));
    assert_non_null(strstr(cm_last_error(), "t10k-labels-idx1-ubyte"));

    /* test images of a different size than training images */
    make_dataset("badsize", 30, 10, 4, 4, 10, 0, 0);
    snprintf(p, sizeof p, "%s/badsize/t10k-images-idx3-ubyte", dir);
    uint8_t px[90] = {0};
    uint32_t d3[3] = {10, 3, 3};
    write_idx(p, 0x08, 3, d3, px, 90, 0);
    snprintf(d, sizeof d, "%s/badsize", dir);
    assert_int_equal(dataset_load_dir(d, 0, &ds), CM_ERR_FORMAT);
    assert_non_null(strstr(cm_last_error(), "3x3"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_raw_and_gz),        cmocka_unit_test(test_validation_split),
        cmocka_unit_test(test_malformed_files),        cmocka_unit_test(test_parse_in_memory),
        cmocka_unit_test(test_missing_and_mismatched),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
