"""rnngrade: autograder for from-scratch NumPy recurrent-network assignments."""

__version__ = "0.1.0"
