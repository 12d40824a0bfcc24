/* A stand-in for Asterisk's media path, for scripts/bench/colocation.py.
 *
 * Asterisk frames audio every 20 ms; a frame handled late is audible jitter. This
 * loop sleeps to absolute 20 ms deadlines (CLOCK_MONOTONIC, TIMER_ABSTIME, so lateness
 * never accumulates), does a little CPU work per frame (mixing and encoding a few
 * calls), and records how late each wake-up was. At the end (or on SIGTERM) it prints
 * one JSON object: frames, lateness percentiles in microseconds, the share of wake-ups
 * later than 5 ms, and frames skipped because a wake-up came after the next deadline.
 *
 *   media-loop SECONDS [PERIOD_MS] [WORK_US]      (defaults: 20 ms, 300 us)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SECONDS [PERIOD_MS] [WORK_US]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    int64_t period = (argc > 2 ? atoll(argv[2]) : 20) * 1000000LL;
    int64_t work = (argc > 3 ? atoll(argv[3]) : 300) * 1000LL;
    if (seconds <= 0 || period <= 0 || work < 0 || work >= period) {
        fprintf(stderr, "media-loop: bad arguments\n");
        return 2;
    }
    size_t cap = (size_t)(seconds * 1e9 / (double)period) + 2;
    int64_t *late = calloc(cap, sizeof *late);
    if (!late) return 1;
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);

    size_t n = 0, skipped = 0;
    volatile uint64_t sink = 0;
    int64_t start = now_ns(), deadline = start + period;
    while (!stop && n < cap - 1 && deadline - start <= (int64_t)(seconds * 1e9)) {
        struct timespec ts = {deadline / 1000000000LL, deadline % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0 && !stop) {
        }
        int64_t woke = now_ns();
        late[n++] = woke - deadline;
        /* The frame's work: spin for WORK_US of CPU. */
        int64_t until = now_ns() + work;
        while (now_ns() < until) sink += 1;
        deadline += period;
        /* A wake-up after the next deadline has lost frames: count and skip them. */
        while (now_ns() > deadline) {
            deadline += period;
            skipped++;
        }
    }
    qsort(late, n, sizeof *late, cmp);
    size_t over5 = 0;
    for (size_t i = 0; i < n; i++) over5 += late[i] > 5000000LL;
    printf("{\"frames\": %zu, \"skipped\": %zu, \"period_ms\": %lld, \"work_us\": %lld, "
           "\"median_us\": %lld, \"p99_us\": %lld, \"p999_us\": %lld, \"max_us\": %lld, "
           "\"late_over_5ms\": %zu, \"late_over_5ms_share\": %.6f}\n",
           n, skipped, (long long)(period / 1000000LL), (long long)(work / 1000LL),
           (long long)(pct(late, n, 0.5) / 1000), (long long)(pct(late, n, 0.99) / 1000),
           (long long)(pct(late, n, 0.999) / 1000), (long long)(n ? late[n - 1] / 1000 : 0),
           over5, n ? (double)over5 / (double)n : 0.0);
    free(late);
    return 0;
}
