# agentgres_ivf under faults: a server killed (immediate stop, as after
# kill -9) in the middle of inserts comes back with an index that
# ivf_check finds whole (every committed row in it, no page out of place),
# answers like before, and takes inserts again; a streaming standby replays
# the index's WAL and answers the same queries the same way.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('ivf_primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION agentgres;
	CREATE TABLE items (id bigint PRIMARY KEY, e agentgres.embedding);
	SELECT setseed(0.5);
	INSERT INTO items SELECT i, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 32) WHERE i > 0)::agentgres.embedding
	FROM generate_series(1, 4000) AS i;
	CREATE INDEX items_ivf ON items USING agentgres_ivf (e agentgres.embedding_l2_ops) WITH (lists = 20);
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('ivf_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# Index changes after the backup reach the standby only through WAL: inserts
# that fill list pages and link new ones, and a VACUUM that removes entries.
$primary->safe_psql('postgres', q{
	INSERT INTO items SELECT 10000 + i, (SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 32) WHERE i > 0)::agentgres.embedding
	FROM generate_series(1, 3000) AS i;
	DELETE FROM items WHERE id % 7 = 0;
	VACUUM items;
});
$primary->wait_for_catchup($standby);
my $query = q{
	SET enable_seqscan = off; SET agentgres.ivf_probes = 20;
	SELECT string_agg(id::text, ',') FROM (
		SELECT id FROM items ORDER BY e OPERATOR(agentgres.<->) (SELECT e FROM items WHERE id = 10001) LIMIT 20) s;
};
# With every list visited (20 of 20) the index's answer is the exact one.
(my $exact = $query) =~ s/SET enable_seqscan = off;/SET enable_indexscan = off; SET enable_bitmapscan = off;/;
my $on_primary = $primary->safe_psql('postgres', $query);
is($on_primary, $primary->safe_psql('postgres', $exact), 'the index answers exactly with every list visited');
is($standby->safe_psql('postgres', $query), $on_primary, 'the standby answers like the primary');
my $whole = q{
	WITH c AS MATERIALIZED (SELECT heap_tid FROM agentgres.ivf_check('items_ivf'))
	SELECT (SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT FROM c WHERE c.heap_tid = i.ctid))
	       || ' ' || (SELECT count(*) - count(DISTINCT heap_tid) FROM c);
};
is($standby->safe_psql('postgres', $whole), '0 0', 'the standby\'s index is whole: every row in it once');

# Kill the primary while a client inserts one row per transaction.
my $inserter = $primary->background_psql('postgres', on_error_stop => 0);
$inserter->query_until(qr/started/, q{
	\echo started
	DO $$
	BEGIN
		FOR i IN 1..1000000 LOOP
			INSERT INTO items VALUES (100000 + i,
				(SELECT array_agg(random()::real - 0.5) FROM generate_series(1, 32) WHERE i > 0)::agentgres.embedding);
			COMMIT;
		END LOOP;
	END $$;
});
$primary->poll_query_until('postgres', 'SELECT count(*) > 2000 FROM items WHERE id > 100000')
  or die 'the inserts did not start';
$primary->stop('immediate');
eval { $inserter->quit; };
$primary->start;

my $committed = $primary->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id > 100000');
ok($committed > 2000, "rows committed before the crash survived ($committed)");
is($primary->safe_psql('postgres', $whole), '0 0', 'after the crash every committed row is in the index once');
my $check = $primary->psql('postgres', q{SELECT count(*) FROM agentgres.ivf_check('items_ivf')});
is($check, 0, 'ivf_check finds no page out of place after the crash');
is($primary->safe_psql('postgres', $query), $primary->safe_psql('postgres', $exact),
	'after the crash the index still answers exactly with every list visited');
$primary->safe_psql('postgres', q{
	INSERT INTO items SELECT 500000 + i, (SELECT e FROM items WHERE id = 10001) FROM generate_series(1, 5) AS i;
});
is($primary->safe_psql('postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY e OPERATOR(agentgres.<->) (SELECT e FROM items WHERE id = 10001) LIMIT 6) s
	WHERE id > 500000;
}), '5', 'inserts after the crash are found');

# The standby follows the primary through the crash.
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $whole), '0 0', 'the standby replayed the inserts around the crash');

done_testing();
