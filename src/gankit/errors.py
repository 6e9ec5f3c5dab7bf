"""One exception type for user mistakes: the CLI prints its message as one line."""


class GankitError(Exception):
    """A user-facing error (bad option, missing file, diverged run)."""
