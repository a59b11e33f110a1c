"""User-facing errors: the CLI prints their message on one line and exits 2."""


class WinnowError(Exception):
    """A problem the user can fix (bad input, bad config, missing file); shown without a traceback."""
