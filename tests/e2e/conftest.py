"""The tmux fixture, shared by every end-to-end module."""

from tests.e2e.test_tmux import tmux  # noqa: F401
