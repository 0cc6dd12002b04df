"""Feedback pages (one self-contained HTML page per student) and the class report."""
from autograder.report.feedback import failure_reason, write_feedback  # noqa: F401
