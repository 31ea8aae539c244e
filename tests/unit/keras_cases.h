/* keras_cases.h: the fixture cases shared by test_keras.c (.h5) and test_keras3.c (.keras).
 * A fixture script writes model files and a manifest.txt into a directory: "ok NAME ROWS NF
 * NOUT" lines (NAME.EXT converts; its NAME.x inputs, predicted, must match NAME.y, the numpy
 * forward pass, within 1e-9 relative) and "refuse NAME MESSAGE" lines (NAME.EXT is refused with
 * MESSAGE in the error, and no output is left). Include after testlib.h. */
#ifndef TROVE_TEST_KERAS_CASES_H
#define TROVE_TEST_KERAS_CASES_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"

/* Run script into test_path(sub) once; the directory, or NULL when the script failed. */
static const char *keras_fixture_dir(const char *script, const char *sub)
{
    static char dir[512];
    if (dir[0])
        return dir;
    snprintf(dir, sizeof dir, "%s", test_path(sub));
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s '%s'", script, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "  cannot write the fixtures (%s)\n", cmd);
        dir[0] = 0;
        return NULL;
    }
    return dir;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void check_ok_case(const char *dir, const char *name, const char *ext, const char *format,
                          size_t rows, size_t nf, size_t nout)
{
    char in[1024], out[1024], xp[1024], yp[1024];
    snprintf(in, sizeof in, "%s/%s.%s", dir, name, ext);
    snprintf(out, sizeof out, "%s/%s.trove", dir, name);
    snprintf(xp, sizeof xp, "%s/%s.x", dir, name);
    snprintf(yp, sizeof yp, "%s/%s.y", dir, name);
    trove_error err;
    trove_convert_report rep;
    int crc = trove_convert(in, out, NULL, &rep, &err);
    if (crc)
        fprintf(stderr, "  %s: %s\n", name, err.message);
    CHECK_OK(crc);
    CHECK(!strcmp(rep.format, format));
    CHECK(!strncmp(rep.estimator, "keras.", 6));
    trove_file *f = NULL;
    trove_model *m = NULL;
    CHECK_OK(trove_open(&f, out, NULL, &err));
    int rc = trove_model_open(&m, f, NULL, &err);
    if (rc)
        fprintf(stderr, "  %s: %s\n", name, err.message);
    double *X = test_read_f64(xp, rows * nf), *Y = test_read_f64(yp, rows * nout);
    double *got = calloc(rows * nout + 1, sizeof *got);
    int ok = !rc && X && Y && got && trove_model_n_features(m) == nf &&
             trove_model_n_outputs(m, TROVE_MODEL_PREDICT) == nout &&
             trove_model_predict(m, TROVE_FLOAT64, X, rows, nf, got, rows * nout, &err) == 0;
    double worst = 0;
    for (size_t i = 0; ok && i < rows * nout; i++) {
        double d = fabs(got[i] - Y[i]) / fmax(1.0, fabs(Y[i]));
        worst = d > worst ? d : worst;
    }
    if (!ok || worst > 1e-9)
        fprintf(stderr, "  %s: ok=%d worst relative error %.3g\n", name, ok, worst);
    free(X);
    free(Y);
    free(got);
    trove_model_free(m);
    trove_close(f);
    CHECK(ok);
    CHECK(worst <= 1e-9);
}

static void check_refused_case(const char *dir, const char *name, const char *ext,
                               const char *want)
{
    char in[1024], out[1024];
    snprintf(in, sizeof in, "%s/%s.%s", dir, name, ext);
    snprintf(out, sizeof out, "%s/%s.trove", dir, name);
    trove_error err;
    int rc = trove_convert(in, out, NULL, NULL, &err);
    if (rc == TROVE_OK || !strstr(err.message, want))
        fprintf(stderr, "  %s: rc %d, message '%s', expected '%s'\n", name, rc,
                rc ? err.message : "", want);
    CHECK(rc != TROVE_OK);
    CHECK(rc != TROVE_E_NOMEM && rc != TROVE_E_IO);
    CHECK(strstr(err.message, want) != NULL);
    CHECK(!exists(out));
}

/* Every case of dir/manifest.txt; at least min_ok conversions and min_ref refusals. */
static void keras_run_manifest(const char *dir, const char *ext, const char *format, int min_ok,
                               int min_ref)
{
    CHECK(dir != NULL);
    char mpath[1024];
    snprintf(mpath, sizeof mpath, "%s/manifest.txt", dir);
    FILE *fp = fopen(mpath, "r");
    CHECK(fp != NULL);
    char line[512];
    int n_ok = 0, n_ref = 0, before = test_failed_checks;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = 0;
        char kind[16], name[128];
        int used = 0;
        if (sscanf(line, "%15s %127s %n", kind, name, &used) < 2)
            continue;
        if (!strcmp(kind, "ok")) {
            size_t rows, nf, nout;
            if (sscanf(line + used, "%zu %zu %zu", &rows, &nf, &nout) == 3) {
                check_ok_case(dir, name, ext, format, rows, nf, nout);
                n_ok++;
            }
        } else {
            check_refused_case(dir, name, ext, line + used);
            n_ref++;
        }
    }
    fclose(fp);
    printf("  %d fixtures converted and matched, %d refused\n", n_ok, n_ref);
    CHECK(test_failed_checks == before);
    CHECK(n_ok >= min_ok && n_ref >= min_ref);
}

#endif
