/* jobs.c: run independent jobs on a few threads (verify, digest, registry push/pull/fsck). */
#include <pthread.h>
#include <stdatomic.h>

#include "core/internal.h"

typedef struct jobs {
    trove__job_run run;
    void *ctx;
    size_t count;
    atomic_size_t next;
    atomic_uint slots;
    atomic_int failed;
    pthread_mutex_t lock;
    size_t err_job;
    trove_error err;
    int rc;
} jobs;

static void *worker(void *arg)
{
    jobs *j = arg;
    unsigned slot = atomic_fetch_add(&j->slots, 1);
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->count || atomic_load(&j->failed))
            break;
        trove_error e = {0};
        int rc = j->run(j->ctx, k, slot, &e);
        if (rc) {
            pthread_mutex_lock(&j->lock);
            if (!j->rc || k < j->err_job) {
                j->rc = rc;
                j->err_job = k;
                j->err = e;
            }
            pthread_mutex_unlock(&j->lock);
            atomic_store(&j->failed, 1);
        }
    }
    return NULL;
}

int trove__run_jobs(unsigned threads, size_t count, trove__job_run run, void *ctx, trove_error *err)
{
    jobs j = {.run = run, .ctx = ctx, .count = count};
    atomic_init(&j.next, 0);
    atomic_init(&j.slots, 0);
    atomic_init(&j.failed, 0);
    pthread_mutex_init(&j.lock, NULL);
    pthread_t tid[TROVE__MAX_THREADS];
    unsigned started = 0;
    if (threads > TROVE__MAX_THREADS)
        threads = TROVE__MAX_THREADS;
    for (unsigned i = 1; i < threads && i < count; i++)
        if (pthread_create(&tid[started], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&j.lock);
    if (j.rc && err)
        *err = j.err;
    return j.rc;
}
