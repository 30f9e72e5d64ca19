-- HyperLogLog sketches of daily visitors; their count is stored too, so a
-- changed sketch format shows up as a changed row.
CREATE SCHEMA fx_hll;
CREATE TABLE fx_hll.daily (day integer PRIMARY KEY, visitors hll NOT NULL, approx bigint);
INSERT INTO fx_hll.daily
SELECT d, hll_add_agg(hll_hash_integer(d * 1000 + u)), NULL
FROM generate_series(1, 30) AS d, generate_series(1, 500) AS u
GROUP BY d;
UPDATE fx_hll.daily SET approx = round(hll_cardinality(visitors));
