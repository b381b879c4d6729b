"""The one exception type the command line turns into a one-line message and exit code 2."""


class AnnotatorError(Exception):
    """An environment or input problem the user can fix; ``str(error)`` is the whole message."""

    exit_code = 2
