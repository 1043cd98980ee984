"""Evaluation: metrics, embedding sources, evaluator, plots, prediction."""
