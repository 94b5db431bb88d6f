"""Prompts a student can start from."""

EXAMPLE_PROMPTS = [
    "Data visualization empowers users to",
    "Artificial Intelligence is transforming the",
    "The capital of France is",
    "As the spaceship was approaching the",
    "On the deserted planet they discovered a",
    "The quick brown fox jumps over the",
    "def fibonacci(n):\n    return",
]
