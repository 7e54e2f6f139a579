// Tests for the reference relay over real WebSockets (issue #8).
