# A server crash (immediate stop, as after kill -9 of the postmaster) and a
# restart lose nothing agentgres committed and leave nothing half-done: the
# job queue's leases bring claimed work back exactly once, a stored model
# keeps predicting, and a training interrupted by the crash leaves no trace.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION agentgres');

# --- the job queue across a crash -------------------------------------------
$node->safe_psql('postgres', q{
	SELECT agentgres.enqueue('tap.work', jsonb_build_object('n', g)) FROM generate_series(1, 3) AS g;
});
my $claimed = $node->safe_psql('postgres',
	q{SELECT string_agg(id::text, ',' ORDER BY id) FROM agentgres.claim_jobs('w1', ARRAY['tap.work'], 2, '2 seconds')});
my ($done_id, $lost_id) = split /,/, $claimed;
ok(defined $lost_id, 'two jobs claimed before the crash');
$node->safe_psql('postgres', "SELECT agentgres.complete_job($done_id, 'w1')");

$node->stop('immediate');
$node->start;

is($node->safe_psql('postgres', "SELECT state FROM agentgres.jobs WHERE id = $done_id"),
	'done', 'a job completed before the crash stays done');
is($node->safe_psql('postgres', "SELECT state || ' ' || locked_by FROM agentgres.jobs WHERE id = $lost_id"),
	'running w1', 'a job claimed but not finished keeps its lease through the crash');

# Once the lease has run out, another worker gets it back, with the job that
# was never claimed; the finished one is not handed out again.
sleep 3;
my $reclaimed = $node->safe_psql('postgres',
	q{SELECT string_agg(id::text || ':' || attempts, ',' ORDER BY id) FROM agentgres.claim_jobs('w2', ARRAY['tap.work'], 10)});
my @reclaimed = split /,/, $reclaimed;
is(scalar(@reclaimed), 2, 'after the lease expires the lost job and the queued one are claimable');
like($reclaimed, qr/(^|,)$lost_id:2(,|$)/, 'the lost job comes back once, on its second attempt');
unlike($reclaimed, qr/(^|,)$done_id:/, 'the completed job is not run again');
is($node->safe_psql('postgres', q{SELECT count(*) FROM agentgres.jobs WHERE kind = 'tap.work'}),
	'3', 'no job lost or duplicated');

# --- models across restarts and crashes --------------------------------------
$node->safe_psql('postgres', q{SELECT agentgres.simulate_executions('code_change', 2000, 7)});
$node->safe_psql('postgres', q{SELECT agentgres.train_success_model()});
my $before = $node->safe_psql('postgres',
	q{SELECT round(agentgres.predict_success('code_change', ARRAY['planner', 'coder', 'reviewer'], 3)::numeric, 12)});
$node->stop('immediate');
$node->start;
my $after = $node->safe_psql('postgres',
	q{SELECT round(agentgres.predict_success('code_change', ARRAY['planner', 'coder', 'reviewer'], 3)::numeric, 12)});
is($after, $before, 'a stored model predicts the same after a crash');

# A training under way when the server crashes leaves no partial model.
my $models = $node->safe_psql('postgres', q{SELECT count(*) FROM agentgres.models});
$node->safe_psql('postgres', q{SELECT agentgres.simulate_executions('code_change', 600000, 8)});
my $training = $node->background_psql('postgres', on_error_stop => 0);
$training->query_until(qr/started/, q{
	\echo started
	SELECT agentgres.train_success_model('interrupted');
});
# Crash while the training is certainly running (it takes seconds on this
# much history), not before it started or after it committed.
$node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	WHERE state = 'active' AND query LIKE '%train_success_model(''interrupted'')%' AND pid <> pg_backend_pid()
}) or die 'the training did not start';
$node->stop('immediate');
eval { $training->quit; };
$node->start;
is($node->safe_psql('postgres', q{SELECT count(*) FROM agentgres.models}), $models,
	'a training interrupted by a crash stored nothing');
is($node->safe_psql('postgres', q{SELECT count(*) FROM agentgres.models WHERE name = 'interrupted'}), '0',
	'no half-written model under the interrupted name');
is($node->safe_psql('postgres', q{SELECT agentgres.train_success_model('after') ->> 'n' IS NOT NULL}), 't',
	'training works again after the crash');

$node->stop;
done_testing();
