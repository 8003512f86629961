// A workload with POSIX timers, for the tests of op timers.
//
// usage: timers N [READY_FILE]
//
// Creates N POSIX timers (CLOCK_MONOTONIC, SIGEV_NONE, armed for an hour,
// so they never fire), writes its pid to READY_FILE (if given) and sleeps.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct itimerspec its = { .it_value = { .tv_sec = 3600 } };
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	int i, n = argc > 1 ? atoi(argv[1]) : 1;
	FILE *f;

	for (i = 0; i < n; i++) {
		timer_t t;

		if (timer_create(CLOCK_MONOTONIC, &sev, &t) || timer_settime(t, 0, &its, NULL)) {
			perror("timer");
			return 1;
		}
	}
	if (argc > 2) {
		f = fopen(argv[2], "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f)) {
			perror(argv[2]);
			return 1;
		}
	}
	for (;;)
		pause();
}
