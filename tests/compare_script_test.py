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


class WelchT(unittest.TestCase):
    def test_worked_example(self):
        # a: mean 2, variance 1; b: mean 5, variance 4 (n = 3 each):
        # t = (2 - 5) / sqrt(1/3 + 4/3) = -3 / sqrt(5/3) = -2.32379...
        self.assertAlmostEqual(compare.welch_t([1, 2, 3], [3, 5, 7]), -2.3237900077, places=9)

    def test_sign_follows_the_first_argument(self):
        self.assertAlmostEqual(compare.welch_t([3, 5, 7], [1, 2, 3]), 2.3237900077, places=9)

    def test_needs_two_values_on_each_side(self):
        self.assertIsNone(compare.welch_t([0.88], [0.88, 0.89]))
        self.assertIsNone(compare.welch_t([0.88, 0.89], []))

    def test_no_spread(self):
        self.assertEqual(compare.welch_t([0.5, 0.5], [0.5, 0.5]), 0.0)
        self.assertEqual(compare.welch_t([0.6, 0.6], [0.5, 0.5]), float("inf"))


class Accuracies(unittest.TestCase):
    def test_main_run_first_then_seed_runs(self):
        main = [{"epoch": 1, "test_accuracy": 0.86}, {"epoch": 3, "test_accuracy": 0.89}]
        seeds = [[{"epoch": 1, "test_accuracy": 0.85}, {"epoch": 3, "test_accuracy": 0.88}],
                 [{"epoch": 1, "test_accuracy": 0.87}, {"epoch": 3, "test_accuracy": 0.885}]]
        self.assertEqual(compare.accuracies(main, seeds, 1), [0.86, 0.85, 0.87])
        self.assertEqual(compare.accuracies(main, seeds, 3), [0.89, 0.88, 0.885])

    def test_spread_is_mean_and_sample_sd(self):
        # mean 0.88, sample variance ((0.01)^2 + 0 + (0.01)^2) / 2 = 1e-4 -> sd 0.01
        self.assertEqual(compare.spread([0.87, 0.88, 0.89]), "0.8800 +- 0.0100")
        self.assertIsNone(compare.spread([0.88]))


class ShareOfPeak(unittest.TestCase):
    def test_each_round_against_its_own_peak(self):
        # rounds: 450/500 = 90 %, 400/480 = 83.33 %, 430/500 = 86 % -> median 86 %
        self.assertAlmostEqual(compare.share_of_peak([450, 400, 430], [500, 480, 500]), 86.0)

    def test_one_round(self):
        self.assertAlmostEqual(compare.share_of_peak([241.5], [483]), 50.0)

    def test_nothing_measured(self):
        self.assertIsNone(compare.share_of_peak([], []))
        self.assertIsNone(compare.share_of_peak([None], [480]))


class Combine(unittest.TestCase):
    def test_median_over_rounds_matched_by_key(self):
        rounds = [[{"epoch": 1, "ms": 3.0, "name": "x"}, {"epoch": 2, "ms": 10.0, "name": "x"}],
                  [{"epoch": 2, "ms": 30.0, "name": "x"}, {"epoch": 1, "ms": 1.0, "name": "x"}],
                  [{"epoch": 1, "ms": 2.0, "name": "x"}, {"epoch": 2, "ms": 20.0, "name": "x"}]]
        combined = compare.combine(rounds, "epoch")
        self.assertEqual([r["epoch"] for r in combined], [1, 2])
        self.assertEqual([r["ms"] for r in combined], [2.0, 20.0])
        self.assertEqual(combined[0]["name"], "x")


if __name__ == "__main__":
    unittest.main()
