"""The exceptions studio raises across resources and assets.

`InputRejected` is bad input: never retried, its message goes to the row and the CLI as is.
`ProviderError` carries whether a retry can help (429, 5xx, timeouts) or not (4xx).
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: the message is meant for users (rows, CLI, GraphQL)."""


class InputRejected(StudioError):
    """The input can never succeed: a corrupt image, a private URL, an unsafe key, a bad spec."""


class NotFound(StudioError):
    """A row or an object that should exist does not."""


class ProviderError(StudioError):
    """A generation failed. `request_gone` says the provider no longer runs the request (it
    failed or was canceled), so a retry must submit anew rather than resume it."""

    def __init__(self, message: str, *, retryable: bool, request_gone: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.request_gone = request_gone


class Canceled(ProviderError):
    """The work was stopped (run terminated, row canceled); its request was canceled too."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, request_gone=True)


class Abandoned(ProviderError):
    """The wait was given up (the run worker is stopping) but the request goes on: a retry
    resumes it by its stored id."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class SubmitAmbiguous(ProviderError):
    """A submit failed after the provider may have accepted it: reconcile, never resubmit.
    Retryable, since a retry only reconciles (the provider's callback may name the request)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class NeedsForce(ProviderError):
    """The slot may already be paid for (an ambiguous submit nobody could reconcile, a job
    canceled at our deadline): only an explicit `force` buys it again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class RequestStuck(ProviderError):
    """The provider kept a job running past our deadline; we canceled it. It may have been
    billed, so it is not bought again unless forced."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, request_gone=True)
