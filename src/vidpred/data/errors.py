"""Errors of data sets, kept apart so the lowest-level data modules can raise them."""


class DataError(ValueError):
    """A data set's root, layout or contents cannot be used; the message says what was expected."""
