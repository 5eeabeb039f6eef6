/* run_options.c: setting a run's options by their long flag names (the table: options.h);
 * presets; the defaults and the checks between options. */
#include "run_options.h"

#include <stdlib.h>
#include <string.h>

cm_status run_set_option(cm_train_args *a, const char *name, const char *value) {
    const cm_option *o = opt_find(name, 0);
    if (!o) return cm_fail(CM_ERR_USAGE, "unknown option '%s'", name);
    return opt_set(a, o, value);
}

void run_mark_given(cm_train_args *a, const cm_option *o) {
    a->given |= 1ull << opt_index(o);
}

int run_option_given(const cm_train_args *a, const char *name) {
    const cm_option *o = opt_find(name, 0);
    return o && (a->given >> opt_index(o) & 1);
}

cm_status run_apply_preset(cm_train_args *a, const char *name) {
    const cm_preset *p = run_presets;
    while (p->name && strcmp(p->name, name) != 0)
        p++;
    if (!p->name) {
        char list[128];
        size_t n = 0;
        for (p = run_presets; p->name; p++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  p == run_presets ? ""
                                  : p[1].name      ? ", "
                                                   : " or ",
                                  p->name);
        return cm_fail(CM_ERR_USAGE, "--preset '%s': expected %s", name, list);
    }
    a->preset = p->name;
    for (const char *const *kv = p->settings; *kv; kv++) {
        char key[64];
        const char *eq = strchr(*kv, '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - *kv), *kv);
        CM_TRY(run_set_option(a, key, eq + 1));
    }
    return CM_OK;
}

void run_defaults(cm_train_args *a) {
    memset(a, 0, sizeof *a);
    dataset_default_options(&a->data);
    for (const cm_option *o = cm_options; o->name; o++)
        if (o->def && !(o->flags & CM_OPT_FIRST)) (void)opt_set(a, o, o->def); /* each parses: test_options.c */
    const char *env_data = getenv("CLMNIST_DATA");
    a->data_dir = env_data && *env_data ? env_data : "data/mnist";
    a->feed = CM_FEED_AUTO;
    a->info = stdout;
}

cm_status run_finish(cm_train_args *a) {
    int momentum_given = run_option_given(a, "momentum");
    if (!strncmp(a->optimizer, "adam", 4) && momentum_given)
        return cm_fail(CM_ERR_USAGE, "--momentum applies to sgd, momentum and nesterov; %s uses --beta1", a->optimizer);
    if (!strcmp(a->optimizer, "sgd") && !momentum_given) a->momentum = 0.0f; /* plain SGD */
    if (a->schedule == CM_SCHEDULE_STEP && a->step_size == 0) a->step_size = a->epochs >= 3 ? a->epochs / 3 : 1;
    if (a->arch[0]) {
        cm_layer layers[CM_MAX_LAYERS];
        int n;
        CM_TRY(model_parse_arch(a->arch, layers, &n)); /* shapes are checked once the data's are known */
        if (a->dropout > 0.0f)
            return cm_fail(CM_ERR_USAGE, "--dropout applies to --layers MLPs; with --arch put drop<P> in the spec");
    }
    return CM_OK;
}
