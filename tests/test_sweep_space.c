/* test_sweep_space.c: `clmnist sweep`'s search space and plan (host/sweep/sweep_space.c,
 * sweep_state.c), without training:
 *  - the grammar: kinds, types and ends of each assignment;
 *  - the sampler: the same seed gives the same trials, another seed others; every value inside its
 *    ends; log-uniform draws spread evenly in log space (half below the geometric mean), not in
 *    linear space; integer flags draw integers, each value of a small range;
 *  - every malformed space gets an error that names the assignment at fault;
 *  - the rungs and their sizes, and successive halving's promotions: the best 1/eta by
 *    validation accuracy, ties to the lower trial number, diverged trials last. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sweep.h"

static const char *const example = "lr=log(0.01,0.3);weight-decay=log(1e-6,1e-3);dropout=0..0.5;batch=64,128,256";

static void test_parse_example(void **state) {
    sweep_space s;
    assert_int_equal(sweep_space_parse(example, &s), CM_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.p[0].name, "lr");
    assert_int_equal(s.p[0].kind, SWEEP_LOG);
    assert_int_equal(s.p[0].type, SWEEP_FLOAT);
    assert_true(s.p[0].lo == 0.01 && s.p[0].hi == 0.3);
    assert_int_equal(s.p[1].kind, SWEEP_LOG);
    assert_true(s.p[1].lo == 1e-6 && s.p[1].hi == 1e-3);
    assert_int_equal(s.p[2].kind, SWEEP_RANGE);
    assert_true(s.p[2].lo == 0.0 && s.p[2].hi == 0.5);
    assert_int_equal(s.p[3].kind, SWEEP_CHOICE);
    assert_int_equal(s.p[3].type, SWEEP_INT);
    assert_int_equal(s.p[3].nchoices, 3);
    assert_string_equal(s.p[3].choice[2], "256");
    char text[512];
    sweep_space_format(&s, text, sizeof text);
    assert_string_equal(text, "lr=log(0.01,0.3);weight-decay=log(1e-06,0.001);dropout=0..0.5;batch=64|128|256");
    /* '|' separates values that hold commas; spaces and a leading "--" are allowed */
    assert_int_equal(sweep_space_parse(" --layers = 512,256|1024 ; optimizer=sgd,adam ;", &s), CM_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.p[0].nchoices, 2);
    assert_string_equal(s.p[0].choice[0], "512,256");
    assert_string_equal(s.p[0].choice[1], "1024");
    assert_int_equal(s.p[1].type, SWEEP_TEXT);
}

static void test_same_seed_same_trials(void **state) {
    sweep_space s;
    assert_int_equal(sweep_space_parse(example, &s), CM_OK);
    int differ = 0;
    for (int t = 0; t < 20; t++) {
        sweep_settings a, b, c;
        sweep_sample(&s, 42, t, &a);
        sweep_sample(&s, 42, t, &b);
        sweep_sample(&s, 7, t, &c);
        assert_memory_equal(&a, &b, sizeof a);
        differ += memcmp(&a, &c, sizeof a) != 0;
    }
    assert_int_equal(differ, 20);
    sweep_settings t0, t1; /* trials differ from each other */
    sweep_sample(&s, 42, 0, &t0);
    sweep_sample(&s, 42, 1, &t1);
    assert_string_not_equal(t0.value[0], t1.value[0]);
}

static void test_values_inside_their_ends(void **state) {
    sweep_space s;
    assert_int_equal(sweep_space_parse(example, &s), CM_OK);
    const int n = 4000;
    int below_gmean = 0, batch[3] = {0};
    double dropout_sum = 0.0;
    for (int t = 0; t < n; t++) {
        sweep_settings v;
        sweep_sample(&s, 1, t, &v);
        double lr = strtod(v.value[0], NULL), wd = strtod(v.value[1], NULL), dr = strtod(v.value[2], NULL);
        assert_true(lr >= 0.01 && lr <= 0.3);
        assert_true(wd >= 1e-6 && wd <= 1e-3);
        assert_true(dr >= 0.0 && dr <= 0.5);
        below_gmean += lr < sqrt(0.01 * 0.3);
        dropout_sum += dr;
        int b = atoi(v.value[3]);
        assert_true(b == 64 || b == 128 || b == 256);
        batch[b == 64 ? 0 : b == 128 ? 1 : 2]++;
    }
    /* log-uniform: half below the geometric mean (uniform would put 15% there) */
    assert_true(fabs((double)below_gmean / n - 0.5) < 0.03);
    assert_true(fabs(dropout_sum / n - 0.25) < 0.01);
    for (int i = 0; i < 3; i++)
        assert_true(fabs((double)batch[i] / n - 1.0 / 3.0) < 0.03);
}

static void test_integer_flags_draw_integers(void **state) {
    sweep_space s;
    assert_int_equal(sweep_space_parse("warmup-steps=log(1,1000);step-size=1..3;batch=log(32,512)", &s), CM_OK);
    int seen[4] = {0}, small = 0;
    for (int t = 0; t < 3000; t++) {
        sweep_settings v;
        sweep_sample(&s, 5, t, &v);
        char *end;
        long w = strtol(v.value[0], &end, 10);
        assert_true(*end == '\0' && w >= 1 && w <= 1000);
        small += w < 32; /* log-uniform over 1..1000: about half below sqrt(1000) */
        long k = strtol(v.value[1], &end, 10);
        assert_true(*end == '\0' && k >= 1 && k <= 3);
        seen[k]++;
        long b = strtol(v.value[2], &end, 10);
        assert_true(*end == '\0' && b >= 32 && b <= 512);
    }
    assert_true(seen[1] > 900 && seen[2] > 900 && seen[3] > 900);
    assert_true(small > 1200 && small < 1800);
}

static void expect_error(const char *spec, const char *want) {
    sweep_space s;
    cm_status st = sweep_space_parse(spec, &s);
    if (st != CM_ERR_USAGE || !strstr(cm_last_error(), want))
        fail_msg("--space '%s': got status %d, message '%s'; wanted one with '%s'", spec, st, cm_last_error(), want);
}

static void test_errors_name_the_assignment(void **state) {
    expect_error("lr=0.1;dropout", "--space 'dropout': expected NAME=log(LO,HI)");
    expect_error("lr=log(0,0.3)", "'lr=log(0,0.3)': log() needs ends above 0");
    expect_error("lr=log(-1,0.3)", "log() needs ends above 0");
    expect_error("dropout=0.5..0.1", "'dropout=0.5..0.1': the low end 0.5 is above the high end 0.1");
    expect_error("colour=1..2", "'colour=1..2': unknown train flag 'colour'");
    expect_error("lr=0.1;epochs=1..3", "'epochs=1..3': 'epochs' cannot be searched");
    expect_error("val=100,200", "'val' cannot be searched");
    expect_error("lr=log(0.1)", "'lr=log(0.1)': expected log(LO,HI)");
    expect_error("lr=log(0.1,0.2,0.3)", "expected log(LO,HI)");
    expect_error("lr=0.1..x", "'lr=0.1..x': 'x' is not a number");
    expect_error("batch=1.5..3", "'1.5' is not an integer");
    expect_error("dropout=0..0.99", "'dropout=0..0.99': --dropout '0.99'");
    expect_error("optimizer=sgd,rmsprop", "'optimizer=sgd,rmsprop': --optimizer 'rmsprop'");
    expect_error("optimizer=0..1", "--optimizer takes a list of values");
    expect_error("batch=64,,128", "an empty or overlong value");
    expect_error("lr=0.1;lr=0.2", "'lr=0.2': --lr is given twice");
    expect_error(" ; ", "--space is empty");
    expect_error("=1..2", "no flag name");
}

/* A plan without a directory: rungs, sizes, trials drawn. */
static sweep_state plan(int trials, int eta, int min_epochs, int max_epochs) {
    sweep_state s = {.dir = "unused", .trials = trials, .eta = eta, .min_epochs = min_epochs, .max_epochs = max_epochs,
                     .seed = 42};
    assert_int_equal(sweep_space_parse("lr=log(0.01,0.3)", &s.space), CM_OK);
    assert_int_equal(sweep_plan(&s), CM_OK);
    return s;
}

static void test_rungs(void **state) {
    sweep_state s = plan(20, 3, 1, 5);
    assert_int_equal(s.nrungs, 3);
    int e[3] = {1, 3, 5}, n[3] = {20, 6, 2};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(s.rung_epochs[k], e[k]);
        assert_int_equal(s.rung_size[k], n[k]);
    }
    sweep_state_free(&s);
    s = plan(4, 2, 2, 16);
    int e2[4] = {2, 4, 8, 16}, n2[4] = {4, 2, 1, 1};
    assert_int_equal(s.nrungs, 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(s.rung_epochs[k], e2[k]);
        assert_int_equal(s.rung_size[k], n2[k]);
    }
    sweep_state_free(&s);
    s = plan(3, 3, 1, 1);
    assert_int_equal(s.nrungs, 1);
    assert_int_equal(s.rung_epochs[0], 1);
    sweep_state_free(&s);
}

static void set(sweep_state *s, int t, int k, double acc) {
    s->trial[t].rung[k] = (sweep_result){1, acc, 0.1, 1.0};
}

static void test_promotions(void **state) {
    sweep_state s = plan(9, 3, 1, 9); /* rungs 1, 3, 9 epochs; 9, 3, 1 trials */
    double acc[9] = {0.50, 0.90, NAN, 0.95, 0.90, 0.10, 0.20, 0.96, 0.30};
    for (int t = 0; t < 9; t++)
        set(&s, t, 0, acc[t]);
    int ids[9];
    sweep_rung_members(&s, 1, ids);
    /* the best three: 0.96 (trial 8), 0.95 (4), then 0.90 twice: trial 2 before trial 5 */
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 7);
    assert_string_equal(sweep_status(&s, 4, -1), "stopped at 1 ep");
    assert_string_equal(sweep_status(&s, 3, -1), "promoted");
    assert_string_equal(sweep_status(&s, 2, -1), "diverged");
    set(&s, 1, 1, 0.97);
    set(&s, 3, 1, 0.99);
    set(&s, 7, 1, 0.98);
    sweep_rung_members(&s, 2, ids);
    assert_int_equal(ids[0], 3);
    set(&s, 3, 2, 0.991);
    assert_int_equal(sweep_best(&s), 3);
    assert_string_equal(sweep_status(&s, 3, sweep_best(&s)), "best");
    assert_string_equal(sweep_status(&s, 7, sweep_best(&s)), "stopped at 3 ep");
    sweep_state_free(&s);
}

/* With every trial of a rung diverged except too few, diverged ones fill the places last. */
static void test_diverged_rank_last(void **state) {
    sweep_state s = plan(6, 3, 1, 3);
    for (int t = 0; t < 6; t++)
        set(&s, t, 0, t == 4 ? 0.2 : NAN);
    int ids[6];
    sweep_rung_members(&s, 1, ids);
    assert_int_equal(s.rung_size[1], 2);
    assert_int_equal(ids[0], 0); /* diverged trial 1 (lowest number) fills the second place */
    assert_int_equal(ids[1], 4);
    assert_int_equal(sweep_best(&s), 4);
    sweep_state_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),
        cmocka_unit_test(test_same_seed_same_trials),
        cmocka_unit_test(test_values_inside_their_ends),
        cmocka_unit_test(test_integer_flags_draw_integers),
        cmocka_unit_test(test_errors_name_the_assignment),
        cmocka_unit_test(test_rungs),
        cmocka_unit_test(test_promotions),
        cmocka_unit_test(test_diverged_rank_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
