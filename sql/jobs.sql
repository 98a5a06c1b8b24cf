-- Jobs: the queue with leases, retries and NOTIFY
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql.

-- Jobs
------------------------------------------------------------------------------

CREATE TABLE agentgres.jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL CHECK (kind <> ''),
	payload jsonb NOT NULL DEFAULT '{}',
	priority smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
	state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead', 'cancelled')),
	attempts integer NOT NULL DEFAULT 0,
	max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
	run_at timestamptz NOT NULL DEFAULT now(),
	locked_by text,
	lease_until timestamptz,
	last_error text,
	result jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz
);
CREATE INDEX jobs_ready ON agentgres.jobs (priority, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON agentgres.jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_kind_state ON agentgres.jobs (kind, state);
COMMENT ON TABLE agentgres.jobs IS 'job queue: priority 1 (first) to 5 (last), leases, retries with backoff';

SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('agentgres.jobs_id_seq', '');
------------------------------------------------------------------------------
-- Job queue
------------------------------------------------------------------------------

CREATE FUNCTION agentgres.enqueue(kind text, payload jsonb, priority integer DEFAULT 3, run_at timestamptz DEFAULT now(),
                                  max_attempts integer DEFAULT 3)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	job_id bigint;
	takes text[];
	unknown text;
BEGIN
	IF kind IS NULL OR kind = '' THEN
		RAISE EXCEPTION 'job kind must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF priority IS NULL OR priority NOT BETWEEN 1 AND 5 THEN
		RAISE EXCEPTION 'job priority must be between 1 (first) and 5 (last), not %', priority
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		RAISE EXCEPTION 'max_attempts must be between 1 and 100' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	payload := coalesce(payload, '{}');
	-- The kinds agentgresd runs (Handlers() in sidecar/agents/worker.cpp; noop
	-- takes anything): a payload its handler would misread fails here, at
	-- enqueue, rather than being ignored in the daemon.
	takes := CASE kind WHEN 'sleep' THEN ARRAY['ms'] WHEN 'fail' THEN ARRAY['error'] WHEN 'learning.train' THEN
	                   ARRAY['model'] WHEN 'learning.refresh_insights' THEN '{}' WHEN 'metrics.rollup' THEN '{}'
	                   WHEN 'knowledge.index' THEN ARRAY['paths', 'collection'] WHEN 'knowledge.embed' THEN
	                   ARRAY['document_id'] WHEN 'knowledge.train' THEN ARRAY['collection'] END;
	IF takes IS NOT NULL THEN
		IF jsonb_typeof(payload) <> 'object' THEN
			RAISE EXCEPTION 'the payload of a % job must be a JSON object, not %', kind, jsonb_typeof(payload)
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT k INTO unknown FROM jsonb_object_keys(payload) AS k WHERE k <> ALL (takes) ORDER BY k LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'a % job takes no payload key "%"', kind, unknown USING ERRCODE = 'invalid_parameter_value',
				HINT = CASE WHEN cardinality(takes) = 0 THEN format('A %s job takes an empty payload.', kind)
				            ELSE format('A %s job takes: %s.', kind, array_to_string(takes, ', ')) END;
		END IF;
		IF kind = 'sleep' AND payload ? 'ms' AND (jsonb_typeof(payload -> 'ms') <> 'number'
		                                          OR (payload ->> 'ms')::numeric NOT BETWEEN 0 AND 86400000) THEN
			RAISE EXCEPTION 'payload key "ms" of a sleep job must be a number of milliseconds from 0 to 86400000'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'fail' AND payload ? 'error' AND jsonb_typeof(payload -> 'error') <> 'string' THEN
			RAISE EXCEPTION 'payload key "error" of a fail job must be a string' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'knowledge.index' AND ((payload ? 'paths' AND (jsonb_typeof(payload -> 'paths') <> 'array' OR EXISTS (
		        SELECT FROM jsonb_array_elements(payload -> 'paths') p WHERE jsonb_typeof(p) <> 'string' OR p = '""')))
		    OR (payload ? 'collection' AND (jsonb_typeof(payload -> 'collection') <> 'string'
		                                    OR payload ->> 'collection' = ''))) THEN
			RAISE EXCEPTION 'a knowledge.index job takes "paths" (non-empty strings) and "collection" (a non-empty string)'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'knowledge.embed' AND (NOT payload ? 'document_id' OR jsonb_typeof(payload -> 'document_id') <> 'number'
		                                 OR (payload ->> 'document_id')::numeric <> trunc((payload ->> 'document_id')::numeric)
		                                 OR (payload ->> 'document_id')::numeric < 1) THEN
			RAISE EXCEPTION 'a knowledge.embed job takes "document_id", a positive integer' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'knowledge.train' AND (jsonb_typeof(payload -> 'collection') IS DISTINCT FROM 'string'
		                                 OR payload ->> 'collection' = '') THEN
			RAISE EXCEPTION 'a knowledge.train job takes "collection", a non-empty string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF kind = 'learning.train' AND payload ? 'model'
		   AND (jsonb_typeof(payload -> 'model') <> 'string' OR payload ->> 'model' = '') THEN
			RAISE EXCEPTION 'payload key "model" of a learning.train job must be a non-empty string'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END IF;
	INSERT INTO agentgres.jobs (kind, payload, priority, run_at, max_attempts)
	VALUES (kind, payload, priority, coalesce(run_at, now()), max_attempts)
	RETURNING id INTO job_id;
	-- Workers LISTEN on agentgres_jobs and wake at once (delivered at commit).
	PERFORM pg_notify('agentgres_jobs', kind);
	RETURN job_id;
END $$;
COMMENT ON FUNCTION agentgres.enqueue(text, jsonb, integer, timestamptz, integer) IS
	'queues a job (priority 1 first .. 5 last) and notifies channel agentgres_jobs; returns its id';

CREATE FUNCTION agentgres.claim_jobs(worker text, kinds text[] DEFAULT NULL, n integer DEFAULT 1,
                                     lease interval DEFAULT '5 minutes')
RETURNS SETOF agentgres.jobs LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF worker IS NULL OR worker = '' THEN
		RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF n IS NULL OR n NOT BETWEEN 1 AND 1000 THEN
		RAISE EXCEPTION 'n must be between 1 and 1000' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease < interval '1 second' THEN
		RAISE EXCEPTION 'lease must be at least one second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Jobs whose lease ran out (their worker died) go back to the queue, or
	-- die when they have used all their attempts.
	UPDATE agentgres.jobs j
	SET state = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,
	    last_error = format('lease of %s expired', j.locked_by), locked_by = NULL, lease_until = NULL,
	    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END
	WHERE j.id IN (SELECT e.id FROM agentgres.jobs e WHERE e.state = 'running' AND e.lease_until < now()
	               FOR UPDATE SKIP LOCKED);
	RETURN QUERY
	UPDATE agentgres.jobs j
	SET state = 'running', attempts = j.attempts + 1, locked_by = worker, lease_until = now() + lease,
	    started_at = now()
	WHERE j.id IN (SELECT q.id FROM agentgres.jobs q
	               WHERE q.state = 'queued' AND q.run_at <= now() AND (kinds IS NULL OR q.kind = ANY (kinds))
	               ORDER BY q.priority, q.run_at, q.id
	               LIMIT n FOR UPDATE SKIP LOCKED)
	RETURNING j.*;
END $$;
COMMENT ON FUNCTION agentgres.claim_jobs(text, text[], integer, interval) IS
	'claims up to n ready jobs (FOR UPDATE SKIP LOCKED) for a worker with a lease; expired leases are requeued first';

CREATE FUNCTION agentgres.renew_lease(id bigint, worker text, lease interval DEFAULT '5 minutes') RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF worker IS NULL OR worker = '' THEN
		RAISE EXCEPTION 'worker name must not be empty' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease IS NULL OR lease < interval '1 second' THEN
		RAISE EXCEPTION 'lease must be at least one second' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- Still this worker's while it runs under its name, even just after the
	-- lease ran out if nobody has requeued it yet. Cancelled, requeued or
	-- claimed by another worker: the lease is lost.
	UPDATE agentgres.jobs j SET lease_until = now() + renew_lease.lease
	WHERE j.id = renew_lease.id AND j.state = 'running' AND j.locked_by = renew_lease.worker;
	RETURN FOUND;
END $$;
COMMENT ON FUNCTION agentgres.renew_lease(bigint, text, interval) IS
	'extends the lease of a running job by lease from now (a worker heartbeat); false when the worker lost the job';

CREATE FUNCTION agentgres.complete_job(id bigint, worker text, result jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE agentgres.jobs j SET state = 'done', result = complete_job.result, finished_at = now(), lease_until = NULL
	WHERE j.id = complete_job.id AND j.state = 'running' AND j.locked_by = worker;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % is not running under worker "%"', id, worker
			USING ERRCODE = 'object_not_in_prerequisite_state',
			DETAIL = 'Its lease may have expired and the job been given to another worker.';
	END IF;
END $$;

CREATE FUNCTION agentgres.fail_job(id bigint, worker text, error text, retry boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	new_state text;
BEGIN
	-- Exponential backoff: 10 s, 20 s, 40 s, ... capped at one hour.
	UPDATE agentgres.jobs j
	SET state = CASE WHEN retry AND j.attempts < j.max_attempts THEN 'queued' ELSE 'dead' END,
	    -- The exponent is capped first (10 s x 2^9 is over the hour already), so
	    -- no attempt count overflows the interval.
	    run_at = now() + least(interval '1 hour', interval '10 seconds' * power(2, least(greatest(j.attempts - 1, 0), 9))),
	    last_error = fail_job.error, locked_by = NULL, lease_until = NULL,
	    finished_at = CASE WHEN retry AND j.attempts < j.max_attempts THEN NULL ELSE now() END
	WHERE j.id = fail_job.id AND j.state = 'running' AND j.locked_by = worker
	RETURNING j.state INTO new_state;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % is not running under worker "%"', id, worker
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN new_state;
END $$;
COMMENT ON FUNCTION agentgres.fail_job(bigint, text, text, boolean) IS
	'records a failed attempt: back to the queue after 10 s x 2^(attempts-1) (at most 1 h), or dead; returns the new state';

CREATE FUNCTION agentgres.release_job(id bigint, worker text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	-- Unfinished work handed back (a worker shutting down): the attempt does not count.
	UPDATE agentgres.jobs j SET state = 'queued', attempts = greatest(j.attempts - 1, 0), locked_by = NULL,
	                            lease_until = NULL, run_at = now()
	WHERE j.id = release_job.id AND j.state = 'running' AND j.locked_by = worker;
	IF FOUND THEN
		PERFORM pg_notify('agentgres_jobs', (SELECT kind FROM agentgres.jobs WHERE jobs.id = release_job.id));
	END IF;
END $$;

CREATE FUNCTION agentgres.cancel_job(id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE agentgres.jobs j SET state = 'cancelled', finished_at = now(), locked_by = NULL, lease_until = NULL
	WHERE j.id = cancel_job.id AND j.state IN ('queued', 'running');
	IF FOUND THEN
		PERFORM agentgres.log_event('job_cancelled', format('job %s cancelled', id), NULL, jsonb_build_object('job', id));
		RETURN true;
	END IF;
	IF NOT EXISTS (SELECT FROM agentgres.jobs j WHERE j.id = cancel_job.id) THEN
		RAISE EXCEPTION 'job % does not exist', id USING ERRCODE = 'undefined_object';
	END IF;
	RETURN false;
END $$;

CREATE VIEW agentgres.job_queue AS
SELECT kind, state, count(*) AS jobs,
       extract(epoch FROM now() - min(CASE WHEN state = 'queued' THEN run_at ELSE created_at END))::double precision
           AS oldest_age_s
FROM agentgres.jobs GROUP BY kind, state;
COMMENT ON VIEW agentgres.job_queue IS 'queue depth and age of the oldest job per kind and state';

------------------------------------------------------------------------------
