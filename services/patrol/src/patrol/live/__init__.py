"""Tonight's live coverage: a faust-streaming app over patrol's own topics (stream.py), the same figures from
PostgreSQL (record.py), and the HTTP/SSE view of them (api.py). See the README's "Live coverage" section."""
