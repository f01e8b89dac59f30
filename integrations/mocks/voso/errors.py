"""The error type every Voso mock module raises; the envelope middleware in app.py turns it into a response."""


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, data=None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data, self.headers = status, code, message, data, headers or {}


def validation_error(errors: list[dict]) -> ApiError:
    """400 VALIDATION_FAILED carrying every error found, as §3 requires (never only the first)."""
    return ApiError(400, "VALIDATION_FAILED", "Dữ liệu không hợp lệ / validation failed", {"errors": errors})
