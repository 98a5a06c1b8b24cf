-- Roles and privileges: three group roles, least privilege
--
-- Current definitions, by topic. The build concatenates sql/*.sql topic files
-- (in the order Makefile.pgxs lists) into agentgres--<version>.sql. This topic
-- comes last: it grants on everything the others created.
--
--   agentgres_reader  reads every table and view; read-only functions
--   agentgres_agent   reader + what an application does: record executions,
--                     tasks, agents, heartbeats, events, metrics, jobs
--   agentgres_admin   agent + what agentgresd does: training, insights,
--                     alerts, retention, settings; every function and table
--
-- Roles belong to the cluster, not to the database: they are created once,
-- by the first install (in any database), kept by DROP EXTENSION, and reused
-- by installs in other databases. The extension is not trusted, so a
-- superuser installs it and can always create them. Functions are SECURITY
-- INVOKER: a role needs both EXECUTE on a function and the table privileges
-- its body uses, so the grants below come in pairs.

DO $$
DECLARE
	group_role text;
	existing record;
BEGIN
	FOREACH group_role IN ARRAY ARRAY['agentgres_reader', 'agentgres_agent', 'agentgres_admin'] LOOP
		SELECT r.rolcanlogin, r.rolsuper INTO existing FROM pg_catalog.pg_roles r WHERE r.rolname = group_role;
		IF NOT FOUND THEN
			IF NOT (SELECT r.rolsuper OR r.rolcreaterole FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
				RAISE EXCEPTION 'role "%" does not exist and "%" cannot create it', group_role, current_user
					USING ERRCODE = 'insufficient_privilege',
					      HINT = 'Install the extension as a superuser, or create the roles agentgres_reader, '
					             'agentgres_agent and agentgres_admin (NOLOGIN) first.';
			END IF;
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', group_role);
		ELSIF existing.rolcanlogin OR existing.rolsuper THEN
			-- A role someone created beforehand under this name would receive
			-- the grants below: it must be a plain group role.
			RAISE EXCEPTION 'role "%" exists and is not a NOLOGIN, non-superuser group role', group_role
				USING ERRCODE = 'duplicate_object',
				      HINT = 'Drop or rename that role, or make it NOLOGIN NOSUPERUSER, then install again.';
		END IF;
	END LOOP;
	-- admin includes agent, agent includes reader.
	IF NOT pg_catalog.pg_has_role('agentgres_agent', 'agentgres_reader', 'MEMBER') THEN
		GRANT agentgres_reader TO agentgres_agent;
	END IF;
	IF NOT pg_catalog.pg_has_role('agentgres_admin', 'agentgres_agent', 'MEMBER') THEN
		GRANT agentgres_agent TO agentgres_admin;
	END IF;
END $$;

GRANT USAGE ON SCHEMA agentgres TO agentgres_reader;

-- Tables and views: everyone reads; the application appends and updates what
-- its functions write; the daemon may do everything (retention deletes).
GRANT SELECT ON ALL TABLES IN SCHEMA agentgres TO agentgres_reader;
GRANT INSERT ON agentgres.executions, agentgres.agent_catalog, agentgres.experiments,
	agentgres.experiment_assignments, agentgres.agent_versions, agentgres.heartbeats, agentgres.system_events,
	agentgres.performance_metrics TO agentgres_agent;
GRANT INSERT, UPDATE ON agentgres.tasks, agentgres.agents, agentgres.jobs TO agentgres_agent;
-- Knowledge: the application (or agentgresd) ingests; the BM25 postings and
-- statistics are written by SECURITY DEFINER triggers on chunks only.
GRANT INSERT ON agentgres.collections TO agentgres_agent;
GRANT INSERT, UPDATE, DELETE ON agentgres.documents, agentgres.chunks, agentgres.symbols, agentgres.embedding_cache
	TO agentgres_agent;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA agentgres TO agentgres_admin;

-- Functions. Pure computations (the embedding type, distances, rank fusion,
-- statistics helpers, the simulator's generator, top_k, which checks the
-- caller's privileges on the table it searches) stay executable by PUBLIC.
-- Everything that reads or changes the extension's tables is revoked from
-- PUBLIC and granted to the group that needs it (NULL: the owner's alone),
-- one row per function.
DO $$
DECLARE
	fn record;
BEGIN
	FOR fn IN
		SELECT f.grantee, f.signature::regprocedure AS signature
		FROM (VALUES
			(NULL,                'agentgres.learning_settings_replace()'),
			(NULL,                'agentgres.enable_pgvector_interop()'),
			(NULL,                'agentgres.disable_pgvector_interop()'),
			(NULL,                'agentgres.chunks_index_added()'),
			(NULL,                'agentgres.chunks_index_removed()'),
			(NULL,                'agentgres.chunks_index_truncated()'),
			(NULL,                'agentgres.chunks_refuse_rewrite()'),
			('agentgres_reader',  'agentgres.learning_mode()'),
			('agentgres_reader',  'agentgres.predict_success(text, text[], double precision, text)'),
			('agentgres_reader',  'agentgres.estimate_duration(text, text[], double precision, text)'),
			('agentgres_reader',  'agentgres.recommend_agents(text, double precision, integer, integer)'),
			('agentgres_reader',  'agentgres.agent_patterns(integer, timestamptz, integer)'),
			('agentgres_reader',  'agentgres.experiment_results(text)'),
			('agentgres_reader',  'agentgres.stale_agents(interval)'),
			('agentgres_reader',  'agentgres.system_health(interval)'),
			('agentgres_reader',  'agentgres.statistics()'),
			('agentgres_reader',  'agentgres.collection_id(text)'),
			('agentgres_reader',  'agentgres.filtered_chunks(bigint, jsonb)'),
			('agentgres_reader',  'agentgres.bm25_rank(bigint, text, integer, bigint[])'),
			('agentgres_reader',  'agentgres.bm25_search(text, text, integer, jsonb)'),
			('agentgres_reader',  'agentgres.hybrid_search_multi(text, text[], agentgres.embedding[], integer, integer, integer, jsonb)'),
			('agentgres_reader',  'agentgres.hybrid_search(text, text, agentgres.embedding, integer, integer, integer, jsonb)'),
			('agentgres_agent',   'agentgres.log_event(text, text, text, jsonb)'),
			('agentgres_agent',   'agentgres.register_agent(text, text, jsonb)'),
			('agentgres_agent',   'agentgres.update_agent_config(text, jsonb, text)'),
			('agentgres_agent',   'agentgres.rollback_agent(text, integer)'),
			('agentgres_agent',   'agentgres.set_agent_status(text, text, text, text, integer)'),
			('agentgres_agent',   'agentgres.heartbeat(text, text, jsonb)'),
			('agentgres_agent',   'agentgres.record_metric(text, text, double precision, jsonb)'),
			('agentgres_agent',   'agentgres.record_execution(text, text[], boolean, double precision, double precision, text, integer, jsonb, text)'),
			('agentgres_agent',   'agentgres.begin_task(text, double precision, text[])'),
			('agentgres_agent',   'agentgres.finish_task(text, boolean, text, integer, jsonb, text[])'),
			('agentgres_agent',   'agentgres.assign_variant(text, text)'),
			('agentgres_agent',   'agentgres.enqueue(text, jsonb, integer, timestamptz, integer)'),
			('agentgres_agent',   'agentgres.claim_jobs(text, text[], integer, interval)'),
			('agentgres_agent',   'agentgres.renew_lease(bigint, text, interval)'),
			('agentgres_agent',   'agentgres.complete_job(bigint, text, jsonb)'),
			('agentgres_agent',   'agentgres.fail_job(bigint, text, text, boolean)'),
			('agentgres_agent',   'agentgres.release_job(bigint, text)'),
			('agentgres_agent',   'agentgres.cancel_job(bigint)'),
			('agentgres_agent',   'agentgres.create_collection(text, text, integer, integer, integer, regconfig, double precision, double precision)'),
			('agentgres_agent',   'agentgres.ingest_document(text, text, text, jsonb, jsonb)'),
			('agentgres_agent',   'agentgres.delete_document(text, text)'),
			('agentgres_agent',   'agentgres.set_chunk_embeddings(bigint[], agentgres.embedding[])'),
			('agentgres_reader',  'agentgres.embed_for(text, text)'),
			('agentgres_reader',  'agentgres.lsa_embed(bigint, text)'),
			('agentgres_admin',   'agentgres.lsa_train(bigint, integer)'),
			('agentgres_admin',   'agentgres.train_embedder(text)'),
			('agentgres_admin',   'agentgres.build_vector_index(text, integer)'),
			('agentgres_admin',   'agentgres.set_learning_mode(text)'),
			('agentgres_admin',   'agentgres.train_success_model(text, integer, double precision)'),
			('agentgres_admin',   'agentgres.refresh_insights(integer, double precision)'),
			('agentgres_admin',   'agentgres.simulate_executions(text, integer, bigint)'),
			('agentgres_admin',   'agentgres.raise_alert(text, text, text, text, jsonb)'),
			('agentgres_admin',   'agentgres.resolve_alert(text, text)'),
			('agentgres_admin',   'agentgres.ack_alert(bigint, text)'),
			('agentgres_admin',   'agentgres.rollup_metrics()'),
			('agentgres_admin',   'agentgres.purge_history(interval)'),
			('agentgres_admin',   'agentgres.set_loop_status(text, text, text, text, text, integer)'),
			('agentgres_admin',   'agentgres.loop_heartbeat(text, text, jsonb)'),
			('agentgres_admin',   'agentgres.set_bm25_parameters(text, double precision, double precision)')
		) AS f(grantee, signature)
	LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', fn.signature);
		IF fn.grantee IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', fn.signature, fn.grantee);
		END IF;
	END LOOP;
END $$;
