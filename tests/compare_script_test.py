#!/usr/bin/env python3
"""The arithmetic of bench/compare.py's table, on hand-checked numbers (Python standard library
only; run by CTest as compare_script_test)."""

import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location(
    "compare", os.path.join(os.path.dirname(HERE), "bench", "compare.py"))
compare = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(compare)
# W1-W3's arithmetic and the shared statistics live in bench/compare_reference.py; loading
# compare.py put bench/ on sys.path.
import compare_reference as reference  # noqa: E402


sweep_cases = compare.compare_next


class SweepCases(unittest.TestCase):
    def test_forward_flop_worked_example(self):
        # N 2, K 3, C 4, kernel 3x5, "same" output ceil(10/2) x ceil(9/3) = 5 x 3:
        # 2 * 2 * 3 * 4 * 15 * 15 = 10,800
        case = {"batch": 2, "kernels": 3, "channels": 4, "kernel": [3, 5], "size": [10, 9],
                "stride": [2, 3]}
        self.assertEqual(sweep_cases.forward_flop(case), 10800.0)

    def test_the_drawn_list_is_fixed_and_within_the_ranges(self):
        cases = sweep_cases.draw_cases(48, 0)
        self.assertEqual(cases, sweep_cases.draw_cases(48, 0))
        self.assertNotEqual(cases, sweep_cases.draw_cases(48, 1))
        self.assertEqual(len(cases), 48)
        self.assertEqual(sum(len(c["size"]) == 1 for c in cases), 12)
        for c in cases:
            self.assertLessEqual(sweep_cases.forward_flop(c), sweep_cases.MAX_FORWARD_FLOP)
            self.assertTrue(1 <= c["channels"] <= 256 and 1 <= c["kernels"] <= 256)
            self.assertTrue(1 <= c["batch"] <= 64)
            for size, kernel, stride in zip(c["size"], c["kernel"], c["stride"]):
                self.assertTrue(7 <= size <= 128 and 1 <= kernel <= 7 and 1 <= stride <= 3)


class WelchT(unittest.TestCase):
    def test_worked_example(self):
        # a: mean 2, variance 1; b: mean 5, variance 4 (n = 3 each):
        # t = (2 - 5) / sqrt(1/3 + 4/3) = -3 / sqrt(5/3) = -2.32379...
        self.assertAlmostEqual(reference.welch_t([1, 2, 3], [3, 5, 7]), -2.3237900077, places=9)

    def test_sign_follows_the_first_argument(self):
        self.assertAlmostEqual(reference.welch_t([3, 5, 7], [1, 2, 3]), 2.3237900077, places=9)

    def test_needs_two_values_on_each_side(self):
        self.assertIsNone(reference.welch_t([0.88], [0.88, 0.89]))
        self.assertIsNone(reference.welch_t([0.88, 0.89], []))

    def test_no_spread(self):
        self.assertEqual(reference.welch_t([0.5, 0.5], [0.5, 0.5]), 0.0)
        self.assertEqual(reference.welch_t([0.6, 0.6], [0.5, 0.5]), float("inf"))


class Accuracies(unittest.TestCase):
    def test_main_run_first_then_seed_runs(self):
        main = [{"epoch": 1, "test_accuracy": 0.86}, {"epoch": 3, "test_accuracy": 0.89}]
        seeds = [[{"epoch": 1, "test_accuracy": 0.85}, {"epoch": 3, "test_accuracy": 0.88}],
                 [{"epoch": 1, "test_accuracy": 0.87}, {"epoch": 3, "test_accuracy": 0.885}]]
        self.assertEqual(reference.accuracies(main, seeds, 1), [0.86, 0.85, 0.87])
        self.assertEqual(reference.accuracies(main, seeds, 3), [0.89, 0.88, 0.885])

    def test_spread_is_mean_and_sample_sd(self):
        # mean 0.88, sample variance ((0.01)^2 + 0 + (0.01)^2) / 2 = 1e-4 -> sd 0.01
        self.assertEqual(reference.spread([0.87, 0.88, 0.89]), "0.8800 +- 0.0100")
        self.assertIsNone(reference.spread([0.88]))


class ShareOfPeak(unittest.TestCase):
    def test_each_round_against_its_own_peak(self):
        # rounds: 450/500 = 90 %, 400/480 = 83.33 %, 430/500 = 86 % -> median 86 %
        self.assertAlmostEqual(reference.share_of_peak([450, 400, 430], [500, 480, 500]), 86.0)

    def test_one_round(self):
        self.assertAlmostEqual(reference.share_of_peak([241.5], [483]), 50.0)

    def test_nothing_measured(self):
        self.assertIsNone(reference.share_of_peak([], []))
        self.assertIsNone(reference.share_of_peak([None], [480]))


class Combine(unittest.TestCase):
    def test_median_over_rounds_matched_by_key(self):
        rounds = [[{"epoch": 1, "ms": 3.0, "name": "x"}, {"epoch": 2, "ms": 10.0, "name": "x"}],
                  [{"epoch": 2, "ms": 30.0, "name": "x"}, {"epoch": 1, "ms": 1.0, "name": "x"}],
                  [{"epoch": 1, "ms": 2.0, "name": "x"}, {"epoch": 2, "ms": 20.0, "name": "x"}]]
        combined = reference.combine(rounds, "epoch")
        self.assertEqual([r["epoch"] for r in combined], [1, 2])
        self.assertEqual([r["ms"] for r in combined], [2.0, 20.0])
        self.assertEqual(combined[0]["name"], "x")


class Scaling(unittest.TestCase):
    def test_median_of_the_rounds_ratios(self):
        # round 1: median(60k, 62k) / 32k = 61/32 = 1.90625; round 2: 56k / 32k = 1.75;
        # round 3: 48k / 24k = 2.0 -> median 1.90625 (the rounds' medians over each other:
        # 56k / 32k = 1.75)
        two = [[{"train_images_per_s": 60e3}, {"train_images_per_s": 62e3}],
               [{"train_images_per_s": 56e3}], [{"train_images_per_s": 48e3}]]
        one = [[{"train_images_per_s": 32e3}], [{"train_images_per_s": 32e3}],
               [{"train_images_per_s": 24e3}]]
        ratios, scale = reference.scaling(two, one)
        self.assertEqual(ratios, [1.90625, 1.75, 2.0])
        self.assertEqual(scale, 1.90625)


class SteadyPeak(unittest.TestCase):
    def test_same_peak_both_times_and_two_cores_each_time(self):
        # 451 vs 460: 2 % apart; 451 >= 0.95 * 2 * 231 = 438.9
        self.assertTrue(reference.steady_peak({1: 231, 2: 451}, {1: 233, 2: 460}, 2, 0.05))

    def test_a_core_taken_away_after(self):
        # as a round on 2026-12-04: 2 threads gave the 1-thread figure
        self.assertFalse(reference.steady_peak({1: 231, 2: 451}, {1: 230, 2: 232}, 2, 0.05))

    def test_a_core_taken_away_for_both_measurements(self):
        # the two agree, but neither ran on two cores: 240 < 0.95 * 2 * 230
        self.assertFalse(reference.steady_peak({1: 230, 2: 240}, {1: 231, 2: 239}, 2, 0.05))

    def test_the_peak_moved_more_than_the_tolerance(self):
        # 500 vs 460: 8 % of 500 apart, each one scaled well
        self.assertFalse(reference.steady_peak({1: 250, 2: 500}, {1: 235, 2: 460}, 2, 0.05))
        self.assertTrue(reference.steady_peak({1: 250, 2: 500}, {1: 235, 2: 460}, 2, 0.10))

    def test_a_missing_figure(self):
        self.assertFalse(reference.steady_peak({2: 451}, {1: 231, 2: 451}, 2, 0.05))


class W3Round(unittest.TestCase):
    """w3_round with the runs replaced by a script of peaks: each W3 attempt sits between two
    peak measurements, a moved peak repeats it, and the round's peak is the higher of its two."""

    def run_round(self, peaks, tries=3):
        peaks = list(peaks)
        runs = []

        class Runner:
            def __init__(self):
                self.notes = []

            def run(self, label, cmd, parse_json=True):
                runs.append(label)
                return [{"case": "d", "attempt": sum(1 for r in runs if r.startswith("cnnkit"))}]

        class Args:
            build, threads, w3_tries, peak_tolerance, skip_torch = "b", 2, tries, 0.05, False

        original = reference.fma_peak
        reference.fma_peak = lambda runner, build, tag="": (runs.append("peak"), peaks.pop(0))[1]
        try:
            runner = Runner()
            ours, theirs, peak = reference.w3_round(runner, Args(), ["w3"], {"w3": ["t"]}, "")
        finally:
            reference.fma_peak = original
        return runs, ours, theirs, peak, runner.notes

    def test_a_steady_round_runs_once(self):
        runs, ours, theirs, peak, notes = self.run_round([{1: 231, 2: 451}, {1: 232, 2: 460}])
        self.assertEqual(runs, ["peak", "cnnkit w3", "torch w3", "peak"])
        self.assertEqual(ours, [{"case": "d", "attempt": 1}])
        self.assertEqual(peak, 460)
        self.assertEqual(notes, [])

    def test_a_moved_peak_runs_the_round_again_from_the_last_peak(self):
        runs, ours, _, peak, notes = self.run_round(
            [{1: 231, 2: 451}, {1: 230, 2: 232}, {1: 231, 2: 455}, {1: 231, 2: 450}])
        # attempt 1: 451 -> 232 (moved); attempt 2: 232 -> 455 (moved); attempt 3: 455 -> 450
        self.assertEqual([r for r in runs if r.startswith("cnnkit")],
                         ["cnnkit w3", "cnnkit w3 attempt 2", "cnnkit w3 attempt 3"])
        self.assertEqual(ours, [{"case": "d", "attempt": 3}])
        self.assertEqual(peak, 455)
        self.assertEqual(len(notes), 2)
        self.assertIn("run again", notes[0])

    def test_kept_after_the_last_try_and_said_so(self):
        _, ours, _, peak, notes = self.run_round(
            [{1: 231, 2: 451}, {1: 230, 2: 232}], tries=1)
        self.assertEqual(ours, [{"case": "d", "attempt": 1}])
        self.assertEqual(peak, 451)
        self.assertIn("kept anyway", notes[-1])


if __name__ == "__main__":
    unittest.main()
