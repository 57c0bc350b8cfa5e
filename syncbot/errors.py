"""syncbot's exceptions: a shallow tree whose leaves carry the exit code.

Exit codes (docs/reference.md, "Exit codes"): 0 success; 1 failure (an API unreachable after retries,
…); 2 invalid config or invalid rules (nothing written); 3 safety stop
(nothing written to Mailchimp). The CLI prints ``str(error)`` and exits with
``error.exit_code``; no other code decides exit codes.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2
EXIT_SAFETY_STOP = 3


class SyncbotError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = EXIT_FAILURE


class InvalidInputError(SyncbotError):
    """Config or rules that cannot be used; carries every problem found, not just the first."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[str], heading: str = "") -> None:
        self.problems = list(problems)
        self.heading = heading
        body = "\n".join(f"  - {p}" for p in self.problems)
        if heading:
            super().__init__(f"{heading}\n{body}")
        elif len(self.problems) == 1:  # one problem reads as one sentence, not a list
            super().__init__(self.problems[0])
        else:
            super().__init__(f"\n{body}")


class ConfigError(InvalidInputError):
    """The configuration file or the environment is not usable."""


class UsageError(SyncbotError):
    """A command-line value that cannot work (say, an output file that cannot be written):
    found before any work is done, exit code 2."""

    exit_code = EXIT_INVALID


class SafetyStop(SyncbotError):
    exit_code = EXIT_SAFETY_STOP


class RulesError(InvalidInputError):
    """The Weights, Segments or Interests tab has rows that cannot be applied."""
