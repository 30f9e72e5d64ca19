\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
-- No network: types and utility functions are checked, and a request to a closed
-- port on 127.0.0.1 must fail with curl's connection error (which shows
-- that libcurl is loaded and a request is really attempted).
BEGIN;
SELECT plan(10);

CREATE EXTENSION IF NOT EXISTS http;
SELECT has_extension('http');
SELECT has_type('http_header');
SELECT has_type('http_request');
SELECT has_type('http_response');

SELECT is((http_header('Accept', 'application/json')).field::text, 'Accept', 'http_header builds a header: field');
SELECT is((http_header('Accept', 'application/json')).value::text, 'application/json', 'http_header builds a header: value');
SELECT is(urlencode('my special string''s & things?'), 'my+special+string%27s+%26+things%3F', 'urlencode a string');
SELECT ok(http_set_curlopt('CURLOPT_TIMEOUT', '5'), 'http_set_curlopt');

SET LOCAL http.timeout_msec = 5000;
SELECT throws_like($$SELECT status FROM http_get('http://127.0.0.1:1/')$$, '%onnect%',
    'a GET to a closed port fails with a connection error');
SELECT throws_like(
    $$SELECT status FROM http(('POST', 'http://127.0.0.1:1/submit', ARRAY[http_header('X-Smoke', '1')], 'application/json', '{"a": 1}')::http_request)$$,
    '%onnect%', 'so does a POST built as an http_request');

SELECT * FROM finish();
ROLLBACK;
