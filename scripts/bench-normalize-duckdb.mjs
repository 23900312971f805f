// The DuckDB side of scripts/bench-normalize.sh: the same tweets CSV to Snappy
// Parquet, with the post columns takedown writes, lists parsed and counts cast.
// Usage: node duck.mjs IN.csv OUT.parquet   (needs @duckdb/node-api installed)
import { DuckDBInstance } from '@duckdb/node-api';
const [inp, out] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const t0 = Date.now();
const list = (col) => `CASE WHEN ${col} IS NULL OR ${col} IN ('', '[]') THEN []::VARCHAR[] ELSE list_transform(string_split(regexp_replace(${col}, '^\\[|\\]$', '', 'g'), ', '), x -> trim(x, '''')) END`;
await c.run(`COPY (SELECT tweetid AS post_id, userid AS account_id,
  CAST(tweet_time AS TIMESTAMP) AS tweet_time, tweet_text AS text, tweet_language AS language,
  tweet_client_name AS client, in_reply_to_tweetid AS reply_to_post_id, in_reply_to_userid AS reply_to_account_id,
  quoted_tweet_tweetid AS quoted_post_id, lower(is_retweet) = 'true' AS is_repost,
  retweet_tweetid AS repost_of_post_id, retweet_userid AS repost_of_account_id,
  ${list('hashtags')} AS hashtags, ${list('urls')} AS urls, ${list('user_mentions')} AS mentions,
  TRY_CAST(like_count AS BIGINT) AS likes, TRY_CAST(retweet_count AS BIGINT) AS reposts,
  TRY_CAST(reply_count AS BIGINT) AS replies, TRY_CAST(quote_count AS BIGINT) AS quotes,
  TRY_CAST(latitude AS DOUBLE) AS latitude, TRY_CAST(longitude AS DOUBLE) AS longitude
  FROM read_csv('${inp}', all_varchar = true, header = true, quote = '"', escape = '"'))
  TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
const r = await c.runAndReadAll(`SELECT count(*) FROM '${out}'`);
console.log(`duckdb rows=${r.getRows()[0][0]} seconds=${((Date.now() - t0) / 1000).toFixed(2)}`);
