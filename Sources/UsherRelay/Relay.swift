// The reference Pusher-protocol relay (issue #8).
