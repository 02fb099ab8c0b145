"""One process, many chargers: a socket each, beyond the usual soft limit of 1024."""

import contextlib


def raise_file_limit(descriptors: int) -> None:
    """Raise the soft limit of open files to `descriptors` (at most the hard limit)."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource  # noqa: PLC0415  (not available on every platform)

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < descriptors:
            limit = descriptors if hard == resource.RLIM_INFINITY else min(descriptors, hard)
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
