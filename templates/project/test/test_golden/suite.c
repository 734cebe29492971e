/* The golden-vector suite. The program under test is the firmware itself (src/, built with
 * test_build_src = yes); ../test_custom_runner.py sends golden.json's inputs over serial and
 * fails on any output byte that differs. PlatformIO needs a source file to call this a suite. */
typedef int tg_golden_suite_t;
