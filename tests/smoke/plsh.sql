\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset pager off
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS plsh;
SELECT has_extension('plsh');

CREATE FUNCTION smoke_sh_concat(text, text) RETURNS text LANGUAGE plsh AS $$
#!/bin/sh
echo "$1-$2"
$$;
SELECT is(smoke_sh_concat('left', 'right'), 'left-right', 'arguments reach the shell and stdout is the result');

CREATE FUNCTION smoke_sh_wc(text) RETURNS integer LANGUAGE plsh AS $$
#!/bin/sh
printf '%s' "$1" | wc -c | tr -d ' '
$$;
SELECT is(smoke_sh_wc('hello'), 5, 'a pipeline through coreutils');

CREATE FUNCTION smoke_sh_fail() RETURNS text LANGUAGE plsh AS $$
#!/bin/sh
echo "boom" >&2
exit 3
$$;
SELECT throws_like($$SELECT smoke_sh_fail()$$, '%boom%', 'stderr of a failing script becomes the error');

CREATE FUNCTION smoke_sh_null() RETURNS text LANGUAGE plsh AS $$
#!/bin/sh
exit 0
$$;
SELECT ok(smoke_sh_null() IS NULL, 'no output is NULL');

SELECT * FROM finish();
ROLLBACK;
