"""The application's error type: a use case refused, with a message the user can act on.

Services raise a subclass of `ApplicationError` (for example `incidents.playbook.PlaybookError`)
when a move is not allowed; views catch it and show its message, never a server error.
"""


class ApplicationError(Exception):
    """A request the application refuses; `str(error)` says what is missing, in the user's words."""
