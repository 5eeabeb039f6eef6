/* test_options.c: the option table (host/train/options_table.c) and the command line built on it
 * (host/tool/cli.c), for every option of the table:
 *  - a valid value parses, and so does its default;
 *  - an out-of-range or invalid value is refused with a message naming the flag;
 *  - a saved option survives the checkpoint round trip (format, then parse: the same value), also
 *    through "train.*" metadata and run_checkpoint_options;
 *  - it shows in the --help of each command that takes it, and in no other's;
 *  - an unknown flag gets the nearest name; aliases and '_' for '-' map to the option. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

/* Valid and invalid values of the options whose value is not a number or a choice. */
static const struct {
    const char *name, *valid, *invalid;
} custom[] = {
    {"preset", "best", "huge"},
    {"layers", "64,32", "64,,32"},
    {"arch", "conv8k3-relu-pool2-flatten-fc10", NULL}, /* too long: built below */
    {"augment", "shift=1.5,rotate=5,scale=0.05,flip=0.5", "blur=1"},
};

static int custom_index(const cm_option *o) {
    for (size_t i = 0; i < sizeof custom / sizeof custom[0]; i++)
        if (!strcmp(custom[i].name, o->name)) return (int)i;
    fail_msg("option --%s (custom) has no test values in test_options.c", o->name);
    return -1;
}

/* A valid value of o, not its default where it can be avoided; NULL for a flag. */
static const char *valid_value(const cm_option *o, char *buf, size_t size) {
    switch (o->type) {
    case CM_OPT_INT:
    case CM_OPT_U64: snprintf(buf, size, "%ld", (long)(o->lo + (o->hi - o->lo) / 3)); return buf;
    case CM_OPT_FLOAT:
    case CM_OPT_DOUBLE: snprintf(buf, size, "%.9g", o->lo + (o->hi - o->lo) * 0.37); return buf;
    case CM_OPT_ENUM:
    case CM_OPT_NAME: return o->choices[1] ? o->choices[1] : o->choices[0];
    case CM_OPT_TEXT: return "some/path";
    case CM_OPT_FLAG: return NULL;
    case CM_OPT_CUSTOM: return custom[custom_index(o)].valid;
    }
    return NULL;
}

static void test_every_option_parses_a_valid_value_and_its_default(void **state) {
    int n = 0;
    for (const cm_option *o = cm_options; o->name; o++, n++) {
        cm_train_args a;
        run_defaults(&a);
        char buf[64];
        const char *v = valid_value(o, buf, sizeof buf);
        if (opt_set(&a, o, v) != CM_OK) fail_msg("--%s '%s': %s", o->name, v ? v : "", cm_last_error());
        for (const char *const *c = o->choices; c && *c; c++)
            assert_int_equal(opt_set(&a, o, *c), CM_OK);
        if (o->def && opt_set(&a, o, o->def) != CM_OK) fail_msg("--%s default '%s' is refused", o->name, o->def);
        assert_non_null(o->help);
        assert_true(o->commands != 0);
        assert_true(o->type == CM_OPT_FLAG || o->arg != NULL);
        assert_ptr_equal(opt_find(o->name, o->commands), o);
    }
    assert_true(n >= 30);
}

/* The invalid values of o (up to 4) into v[]; returns how many. */
static int invalid_values(const cm_option *o, char (*v)[1200]) {
    int n = 0;
    switch (o->type) {
    case CM_OPT_INT:
    case CM_OPT_U64:
        snprintf(v[n++], 1200, "%ld", (long)o->lo - 1);
        snprintf(v[n++], 1200, "%.0f", o->hi + 1);
        snprintf(v[n++], 1200, "x");
        snprintf(v[n++], 1200, " %ld", (long)o->lo);
        break;
    case CM_OPT_FLOAT:
    case CM_OPT_DOUBLE:
        snprintf(v[n++], 1200, "%.17g", o->lo > 0 ? nextafter(o->lo, 0) : -1.0);
        snprintf(v[n++], 1200, "%.17g", o->hi * 2 + 1);
        snprintf(v[n++], 1200, "1x");
        snprintf(v[n++], 1200, "nan");
        break;
    case CM_OPT_ENUM:
    case CM_OPT_NAME: snprintf(v[n++], 1200, "bogus"); break;
    case CM_OPT_TEXT:
    case CM_OPT_FLAG: break;
    case CM_OPT_CUSTOM:
        if (custom[custom_index(o)].invalid) {
            snprintf(v[n++], 1200, "%s", custom[custom_index(o)].invalid);
        } else {
            memset(v[n], 'x', 1100);
            v[n++][1100] = '\0';
        }
        break;
    }
    return n;
}

static void test_invalid_values_are_refused_naming_the_flag(void **state) {
    for (const cm_option *o = cm_options; o->name; o++) {
        char v[4][1200], flag[64];
        int n = invalid_values(o, v);
        snprintf(flag, sizeof flag, "--%s", o->name);
        for (int i = 0; i < n; i++) {
            cm_train_args a;
            run_defaults(&a);
            if (opt_set(&a, o, v[i]) != CM_ERR_USAGE) fail_msg("--%s '%.40s' was accepted", o->name, v[i]);
            if (!strstr(cm_last_error(), flag))
                fail_msg("--%s: the error does not name it: %s", o->name, cm_last_error());
            if (o->choices) /* the error lists the choices */
                for (const char *const *c = o->choices; *c; c++)
                    assert_non_null(strstr(cm_last_error(), *c));
        }
    }
}

/* The option's field, compared between two argument sets (numbers and choices). */
static int same_field(const cm_option *o, const cm_train_args *x, const cm_train_args *y) {
    size_t size = o->type == CM_OPT_U64 || o->type == CM_OPT_DOUBLE ? 8
                  : o->type == CM_OPT_NAME                          ? sizeof(const char *)
                                                                    : 4;
    return memcmp((const char *)x + o->offset, (const char *)y + o->offset, size) == 0;
}

static void test_saved_options_survive_the_checkpoint_round_trip(void **state) {
    int saved = 0;
    for (const cm_option *o = cm_options; o->name; o++) {
        if (!(o->flags & CM_OPT_SAVED)) continue;
        saved++;
        cm_train_args a, b;
        run_defaults(&a);
        run_defaults(&b);
        char buf[64], text[1200], again[1200];
        assert_int_equal(opt_set(&a, o, valid_value(o, buf, sizeof buf)), CM_OK);
        opt_format(&a, o, text, sizeof text);
        if (opt_set(&b, o, text) != CM_OK) fail_msg("--%s: its saved text '%s' is refused", o->name, text);
        opt_format(&b, o, again, sizeof again);
        assert_string_equal(text, again);
        if (o->type != CM_OPT_CUSTOM && o->type != CM_OPT_TEXT && !same_field(o, &a, &b))
            fail_msg("--%s: '%s' reads back as another value", o->name, text);
    }
    assert_true(saved >= 20);
}

/* All saved options at once, through "train.*" metadata and run_checkpoint_options. */
static void test_checkpoint_metadata_restores_every_saved_option(void **state) {
    cm_train_args a, b;
    int help;
    char *argv[] = {"train", "--preset",  "cnn",       "--lr",         "0.0123", "--epochs",
                    "7",     "--augment", "flip=0.25", "--image-size", "20",     "--transpose",
                    "no",    "--val",     "100",       "--schedule",   "step",   NULL};
    static const cm_command_info info = {"train", CM_CMD_TRAIN, NULL, "", NULL, NULL, NULL, 0};
    assert_int_equal(cli_parse(17, argv, &info, &a, &help, NULL), CM_OK);
    cm_meta *m = calloc(1, sizeof *m);
    assert_non_null(m);
    assert_int_equal(meta_set(m, "checkpoint.epoch", "3"), CM_OK);
    for (const cm_option *o = cm_options; o->name; o++) {
        char key[64], v[1200];
        snprintf(key, sizeof key, "train.%s", o->name);
        opt_format(&a, o, v, sizeof v);
        if (o->flags & CM_OPT_SAVED) assert_int_equal(meta_set(m, key, "%s", v), CM_OK);
    }
    char *none[] = {"train", NULL};
    assert_int_equal(cli_parse(1, none, &info, &b, &help, NULL), CM_OK);
    int epoch;
    assert_int_equal(run_checkpoint_options("ck", m, &b, &epoch), CM_OK);
    assert_int_equal(epoch, 3);
    for (const cm_option *o = cm_options; o->name; o++) {
        char x[1200], y[1200];
        opt_format(&a, o, x, sizeof x);
        opt_format(&b, o, y, sizeof y);
        /* an empty value is "not given" and not restored (train.layers of an --arch model) */
        if ((o->flags & CM_OPT_SAVED) && *x) assert_string_equal(x, y);
    }
    free(m);
}

static const struct {
    unsigned bit;
    const char *name;
} commands[] = {{CM_CMD_TRAIN, "train"},     {CM_CMD_COMPARE, "compare"}, {CM_CMD_BENCH, "bench"},
                {CM_CMD_TUNE, "tune"},       {CM_CMD_SWEEP, "sweep"},     {CM_CMD_EVAL, "eval"},
                {CM_CMD_PREDICT, "predict"}, {CM_CMD_SERVE, "serve"},     {CM_CMD_DOCTOR, "doctor"},
                {CM_CMD_IMPORT, "import"},   {CM_CMD_DEVICES, "devices"}};

/* Whether the help text has a line for --name. */
static int lists(const char *help, const char *name) {
    char line[80];
    snprintf(line, sizeof line, "\n  --%s ", name);
    return strstr(help, line) || (strncmp(help, line + 1, strlen(line + 1)) == 0);
}

static void test_help_lists_an_option_for_exactly_the_commands_that_take_it(void **state) {
    assert_int_equal(sizeof commands / sizeof commands[0], CM_NCOMMANDS);
    for (size_t c = 0; c < CM_NCOMMANDS; c++) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        assert_non_null(f);
        fputc('\n', f);
        opt_help(f, commands[c].bit);
        fclose(f);
        for (const cm_option *o = cm_options; o->name; o++) {
            int want = (o->commands & commands[c].bit) != 0;
            if (lists(text, o->name) != want)
                fail_msg("%s --help %s --%s", commands[c].name, want ? "lacks" : "lists", o->name);
        }
        free(text);
    }
    /* tune takes the model's shape, not the recipe */
    assert_non_null(opt_find("batch", CM_CMD_TUNE));
    assert_null(opt_find("lr", CM_CMD_TUNE));
    assert_null(opt_find("epochs", CM_CMD_TUNE));
    assert_null(opt_find("backend", CM_CMD_BENCH)); /* bench has --backends */
}

static void test_unknown_flags_get_the_nearest_name(void **state) {
    char near[64];
    assert_true(opt_suggest("learing-rate", CM_CMD_TRAIN, NULL, near, sizeof near));
    assert_string_equal(near, "lr");
    assert_true(opt_suggest("epoch", CM_CMD_TRAIN, NULL, near, sizeof near));
    assert_string_equal(near, "epochs");
    assert_true(opt_suggest("weight_decai", CM_CMD_TRAIN, NULL, near, sizeof near));
    assert_string_equal(near, "weight-decay");
    assert_true(opt_suggest("optimiser", CM_CMD_SWEEP, NULL, near, sizeof near));
    assert_string_equal(near, "optimizer");
    assert_true(opt_suggest("bacthsize", CM_CMD_TUNE, NULL, near, sizeof near));
    assert_string_equal(near, "batch");
    const char *extra[] = {"max-epochs", NULL};
    assert_true(opt_suggest("max-epoch", CM_CMD_SWEEP, extra, near, sizeof near));
    assert_string_equal(near, "max-epochs");
    assert_false(opt_suggest("bogus", CM_CMD_TRAIN, NULL, near, sizeof near));
    assert_false(opt_suggest("learing-rate", CM_CMD_TUNE, NULL, near, sizeof near)); /* not tune's */
    assert_int_equal(opt_distance("abc", "acb"), 1);
    assert_int_equal(opt_distance("", "lr"), 2);

    cm_train_args a;
    int help;
    static const cm_command_info info = {"train", CM_CMD_TRAIN, NULL, "", NULL, NULL, NULL, 0};
    char *argv[] = {"train", "--learing-rate", "0.1", NULL};
    assert_int_equal(cli_parse(3, argv, &info, &a, &help, NULL), CM_ERR_USAGE);
    assert_string_equal(cm_last_error(), "clmnist train: unknown option '--learing-rate' (did you mean --lr?)");
    char *argv2[] = {"train", "-lr", "0.1", NULL};
    assert_int_equal(cli_parse(3, argv2, &info, &a, &help, NULL), CM_ERR_USAGE);
    assert_non_null(strstr(cm_last_error(), "did you mean --lr?"));
}

static void test_aliases_and_underscores_map(void **state) {
    static const char *const pairs[][2] = {
        {"learning-rate", "lr"},  {"learning_rate", "lr"},          {"batch-size", "batch"},
        {"batch_size", "batch"},  {"num-epochs", "epochs"},         {"n-epochs", "epochs"},
        {"num_epochs", "epochs"}, {"weight_decay", "weight-decay"}, {"warmup_steps", "warmup-steps"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const cm_option *o = opt_find(pairs[i][0], CM_CMD_TRAIN);
        assert_non_null(o);
        assert_string_equal(o->name, pairs[i][1]);
    }
    cm_train_args a;
    int help, nargs;
    static const cm_command_info info = {"train", CM_CMD_TRAIN, NULL, "", NULL, NULL, NULL, 0};
    char *argv[] = {"train",          "--learning_rate=0.05",
                    "--batch-size",   "64",
                    "--num-epochs",   "3",
                    "--weight_decay", "0.001",
                    "--epo",          "4",
                    "extra",          NULL};
    assert_int_equal(cli_parse(11, argv, &info, &a, &help, &nargs), CM_OK);
    assert_true(a.lr == 0.05f && a.batch == 64 && a.epochs == 4 && a.weight_decay == 0.001f);
    assert_int_equal(nargs, 1);
    assert_string_equal(argv[10], "extra");
    assert_true(run_option_given(&a, "lr") && run_option_given(&a, "batch") && !run_option_given(&a, "seed"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_option_parses_a_valid_value_and_its_default),
        cmocka_unit_test(test_invalid_values_are_refused_naming_the_flag),
        cmocka_unit_test(test_saved_options_survive_the_checkpoint_round_trip),
        cmocka_unit_test(test_checkpoint_metadata_restores_every_saved_option),
        cmocka_unit_test(test_help_lists_an_option_for_exactly_the_commands_that_take_it),
        cmocka_unit_test(test_unknown_flags_get_the_nearest_name),
        cmocka_unit_test(test_aliases_and_underscores_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
