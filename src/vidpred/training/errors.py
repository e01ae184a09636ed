"""Training's errors, in a module without Lightning so that the command line can name them cheaply."""


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN or infinite loss; the run stopped and kept its last good checkpoint."""
