/* timer.h: monotonic wall-clock seconds. */
#ifndef CLMNIST_TIMER_H
#define CLMNIST_TIMER_H
double timer_now(void);
#endif
