"""The one kind of error a user is meant to see: bad input, reported as a single line."""


class UserError(Exception):
    """Bad input from the user (a file, a field, a flag).

    The CLI prints it as ``lambench: error: <message>`` and exits with code 2,
    never with a traceback. The message names the file or field and what is allowed.
    """
