#!/usr/bin/env python3
"""Writes corpus.tsv (source, event, message) from raw logs, labelling every
line with its ground-truth event by hand-written rules: one regular
expression per event, written by reading the messages (see README.md here for
the conventions). A line that no rule matches stops the script, so every label
was decided by a person, never by the algorithm under test.

  label.py RAW_DIR VAR_LOG_DIR > corpus.tsv
"""
import os
import re
import sys

# --- message content: the header (time stamp, process id) is cut, as a log
# parser's log format would -------------------------------------------------
HEADERS = {
    "postgres": re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] (?:\S*@\S* )?"),
    "dpkg": re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "),
    "alternatives": re.compile(r"^update-alternatives \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: "),
}

V = r".+?"  # a variable part
RULES = {
    "postgres": [
        ("pg_div_zero", r"ERROR:  division by zero"),
        ("pg_bad_input", r'ERROR:  invalid input syntax for type \w+: ".*" at character \d+'),
        ("pg_bad_json", r"ERROR:  invalid input syntax for type json at character \d+"),
        ("pg_json_ended", r"DETAIL:  The input string ended unexpectedly\."),
        ("pg_json_context", r"CONTEXT:  JSON data, line \d+: .*"),
        ("pg_date_range", r'ERROR:  date/time field value out of range: ".*"'),
        ("pg_password", r'FATAL:  password authentication failed for user ".*"'),
        ("pg_role_missing", r'FATAL:  role ".*" does not exist'),
        ("pg_role_missing_detail", r'DETAIL:  Role ".*" does not exist\.'),
        ("pg_hba_matched", r'DETAIL:  Connection matched pg_hba\.conf line \d+: ".*"'),
        ("pg_db_missing", r'FATAL:  database ".*" does not exist'),
        ("pg_table_missing_drop", r'ERROR:  table ".*" does not exist'),
        ("pg_relation_missing", r'ERROR:  relation ".*" does not exist at character \d+'),
        ("pg_column_missing", r'ERROR:  column ".*" does not exist at character \d+'),
        ("pg_using_column", r'ERROR:  column ".*" specified in USING clause does not exist in left table'),
        ("pg_function_missing", r"ERROR:  function \S+\(.*\) does not exist at character \d+"),
        ("pg_function_hint", r"HINT:  No function matches the given name and argument types\. You might need to add explicit type casts\."),
        ("pg_type_missing", r'ERROR:  type ".*" does not exist at character \d+'),
        ("pg_not_null", r'ERROR:  null value in column ".*" of relation ".*" violates not-null constraint'),
        ("pg_failing_row", r"DETAIL:  Failing row contains \(.*\)\."),
        ("pg_check", r'ERROR:  new row for relation ".*" violates check constraint ".*"'),
        ("pg_too_long", r"ERROR:  value too long for type character varying\(\d+\)"),
        ("pg_int_range", r"ERROR:  integer out of range"),
        ("pg_fk", r'ERROR:  insert or update on table ".*" violates foreign key constraint ".*"'),
        ("pg_fk_detail", r'DETAIL:  Key \(.*\)=\(.*\) is not present in table ".*"\.'),
        ("pg_duplicate", r'ERROR:  duplicate key value violates unique constraint ".*"'),
        ("pg_duplicate_detail", r"DETAIL:  Key \(.*\)=\(.*\) already exists\."),
        ("pg_syntax", r'ERROR:  syntax error at or near ".*" at character \d+'),
        ("pg_relation_exists", r'ERROR:  relation ".*" already exists'),
        ("pg_column_exists", r'ERROR:  column ".*" of relation ".*" already exists'),
        ("pg_statement_timeout", r"ERROR:  canceling statement due to statement timeout"),
        ("pg_lock_timeout", r"ERROR:  canceling statement due to lock timeout"),
        ("pg_aborted_txn", r"ERROR:  current transaction is aborted, commands ignored until end of transaction block"),
        ("pg_perm_table", r"ERROR:  permission denied for table \S+"),
        ("pg_perm_schema", r"ERROR:  permission denied for schema \S+ at character \d+"),
        ("pg_deadlock", r"ERROR:  deadlock detected"),
        ("pg_deadlock_detail", r"DETAIL:  Process \d+ waits for \w+ on transaction \d+; blocked by process \d+\."),
        ("pg_deadlock_hint", r"HINT:  See server log for query details\."),
        ("pg_tuple_context", r'CONTEXT:  while updating tuple \(\d+,\d+\) in relation ".*"'),
        ("pg_column_hint", r'HINT:  Perhaps you meant to reference the column ".*"\.'),
        ("pg_log_starting", r"LOG:  starting PostgreSQL .*"),
        ("pg_log_listening_socket", r'LOG:  listening on Unix socket ".*"'),
        ("pg_log_listening_ip", r'LOG:  listening on IPv\d address ".*", port \d+'),
        ("pg_log_was_shut_down", r"LOG:  database system was shut down at .*"),
        ("pg_log_ready", r"LOG:  database system is ready to accept connections"),
        ("pg_log_shutting_down", r"LOG:  shutting down"),
        ("pg_log_fast_shutdown", r"LOG:  received fast shutdown request"),
        ("pg_log_is_shut_down", r"LOG:  database system is shut down"),
        ("pg_log_checkpoint_start", r"LOG:  checkpoint starting: .*"),
        ("pg_log_checkpoint_done", r"LOG:  checkpoint complete: wrote \d+ buffers .*"),
        ("pg_log_worker_exit", r'LOG:  background worker ".*" \(PID \d+\) exited with exit code \d+'),
        ("pg_log_aborting", r"LOG:  aborting any active transactions"),
        ("pg_log_startup_packet", r"LOG:  invalid length of startup packet"),
    ],
    "dpkg": [
        ("dpkg_status_" + s.replace("-", "_"), r"status " + s + r" \S+ \S+")
        for s in ("installed", "unpacked", "half-configured", "half-installed", "triggers-pending",
                  "triggers-awaited", "not-installed", "config-files")
    ] + [
        ("dpkg_configure", r"configure \S+ \S+ \S+"),
        ("dpkg_install", r"install \S+ \S+ \S+"),
        ("dpkg_upgrade", r"upgrade \S+ \S+ \S+"),
        ("dpkg_remove", r"remove \S+ \S+ \S+"),
        ("dpkg_trigproc", r"trigproc \S+ \S+ \S+"),
        ("dpkg_startup_archives_unpack", r"startup archives unpack"),
        ("dpkg_startup_packages_configure", r"startup packages configure"),
        ("dpkg_startup_packages_remove", r"startup packages remove"),
        ("dpkg_startup_packages_purge", r"startup packages purge"),
        ("dpkg_startup_packages_triggers_only", r"startup packages triggers-only"),
        ("dpkg_startup_archives_install", r"startup archives install"),
        ("dpkg_purge", r"purge \S+ \S+ \S+"),
        ("dpkg_conffile", r"conffile \S+ \w+"),
    ],
    "alternatives": [
        ("alt_run_with", r"run with .*"),
        ("alt_link_group_updated", r"link group \S+ updated to point to \S+"),
        ("alt_using", r"using \S+ to provide \S+ \(\S+\) in auto mode"),
        ("alt_remove_link_group", r"removing manually selected alternative - switching \S+ to auto mode"),
    ],
    "apt_history": [
        ("apt_start_date", r"Start-Date: .*"),
        ("apt_end_date", r"End-Date: .*"),
        ("apt_commandline", r"Commandline: .*"),
        ("apt_install", r"Install: .*"),
        ("apt_upgrade", r"Upgrade: .*"),
        ("apt_remove", r"Remove: .*"),
        ("apt_purge", r"Purge: .*"),
        ("apt_requested_by", r"Requested-By: .*"),
        ("apt_error", r"Error: .*"),
    ],
    "apt_term": [
        ("term_setting_up", r"Setting up \S+ \(.*\) \.\.\."),
        ("term_preparing", r"Preparing to unpack \S+ \.\.\."),
        ("term_selecting", r"Selecting previously unselected package \S+\."),
        ("term_unpacking_over", r"Unpacking \S+ \(.*\) over \(.*\) \.\.\."),
        ("term_unpacking", r"Unpacking \S+ \(.*\) \.\.\."),
        ("term_triggers", r"Processing triggers for \S+ \(.*\) \.\.\."),
        ("term_alternatives_using", r"update-alternatives: using \S+ to provide \S+ \(\S+\) in auto mode"),
        ("term_reading_database", r"\(Reading database \.\.\..*"),
        ("term_log_started", r"Log started: .*"),
        ("term_log_ended", r"Log ended: .*"),
        ("term_runlevel", r"invoke-rc\.d: could not determine current runlevel"),
        ("term_policy_denied", r"invoke-rc\.d: policy-rc\.d denied execution of \S+\."),
        ("term_created_symlink", r"Created symlink \S+ → \S+\."),
        ("term_debconf_unable", r"debconf: unable to initialize frontend: \w+"),
        ("term_debconf_falling", r"debconf: falling back to frontend: \w+"),
        ("term_debconf_tty", r"debconf: \(This frontend requires a controlling tty\.\)"),
        ("term_debconf_term", r"debconf: \(TERM is not set, so the dialog frontend is not usable\.\)"),
        ("term_adding_cert", r"Adding debian:\S+"),
        ("term_adding_diversion", r"Adding 'diversion of .* to .* by .*'"),
        ("term_creating_group", r"Creating group '.*' with GID \d+\."),
        ("term_creating_user", r"Creating user '.*' \(.*\) with UID \d+ and GID \d+\."),
        ("term_certs_added", r"\d+ added, \d+ removed; done\."),
        ("term_running_python_hooks", r"running python (?:post-)?rtupdate hooks for \S+\.\.\."),
        ("term_updating_certificates", r"Updating certificates in \S+\.\.\."),
        ("term_done", r"done\."),
        ("term_building_dictionaries", r"Building PostgreSQL dictionaries from installed myspell/hunspell packages\.\.\."),
        ("term_removing_dictionaries", r"Removing obsolete dictionary files:"),
    ],
    "gcc": [
        ("cc_unused_variable", r"\S+:\d+:\d+: warning: unused variable ‘.*’ \[-Wunused-variable\]"),
        ("cc_set_not_used", r"\S+:\d+:\d+: warning: variable ‘.*’ set but not used \[-Wunused-but-set-variable\]"),
        ("cc_no_member", r"\S+:\d+:\d+: error: no member named '.*' in '.*'"),
        ("cc_must_use_tag", r"\S+:\d+:\d+: error: must use '.*' tag to refer to type '.*'"),
        ("cc_undeclared_identifier", r"\S+:\d+:\d+: error: use of undeclared identifier '.*'"),
        ("cc_conflicting_types", r"\S+:\d+:\d+: error: conflicting types for ['‘].*['’](?:; have .*)?"),
        ("cc_expected_after_return", r"\S+:\d+:\d+: error: expected '.*' after return statement"),
        ("cc_unknown_type_struct", r"\S+:\d+:\d+: error: unknown type name ‘.*’; use ‘struct’ keyword to refer to the type"),
        ("cc_unknown_type", r"\S+:\d+:\d+: error: unknown type name ['‘].*['’]"),
        ("cc_expected_at_end", r"\S+:\d+:\d+: error: expected '.*' at end of declaration"),
        ("cc_file_not_found", r"\S+:\d+:\d+: fatal error: '.*' file not found"),
        ("cc_no_such_file", r"\S+:\d+:\d+: fatal error: \S+: No such file or directory"),
        ("cc_expected_comma_before", r"\S+:\d+:\d+: error: expected ‘,’ or ‘;’ before ‘.*’"),
        ("cc_expected_before", r"\S+:\d+:\d+: error: expected ‘.*’ before ‘.*’(?: token)?"),
        ("cc_const_assign", r"\S+:\d+:\d+: error: cannot assign to variable '.*' with const-qualified type '.*'"),
        ("cc_readonly_assign", r"\S+:\d+:\d+: error: assignment of read-only variable ‘.*’"),
        ("cc_int_to_pointer_gcc", r"\S+:\d+:\d+: warning: initialization of ‘.*’ from ‘.*’ makes pointer from integer without a cast \[-Wint-conversion\]"),
        ("cc_int_to_pointer_clang", r"\S+:\d+:\d+: warning: incompatible integer to pointer conversion initializing '.*' with an expression of type '.*' \[-Wint-conversion\]"),
        ("cc_undeclared_first_use", r"\S+:\d+:\d+: error: ‘.*’ undeclared \(first use in this function\)"),
        ("cc_too_many_args_clang", r"\S+:\d+:\d+: error: too many arguments to function call, expected (?:single argument '.*'|\d+), have \d+ arguments"),
        ("cc_too_many_args_gcc", r"\S+:\d+:\d+: error: too many arguments to function ‘.*’"),
        ("cc_request_member", r"\S+:\d+:\d+: error: request for member ‘.*’ in something not a structure or union"),
        ("cc_storage_size", r"\S+:\d+:\d+: error: storage size of ‘.*’ isn’t known"),
        ("cc_variable_incomplete", r"\S+:\d+:\d+: error: variable has incomplete type '.*'"),
        ("cc_expected_semicolon_after_expr", r"\S+:\d+:\d+: error: expected ';' after expression"),
    ],
    "cmake": [
        ("cmake_error_at", r"CMake Error at \S+:\d+ \(\w+\):"),
        ("cmake_include_not_found", r"include could not find requested file:"),
        ("cmake_include_not_found_load", r"include could not find load file:"),
        ("cmake_link_not_built", r'Cannot specify link libraries for target ".*" which is not built by'),
        ("cmake_subdir_missing", r'add_subdirectory given source ".*" which is not an existing directory\.'),
        ("cmake_did_not_find", r"CMake did not find one\."),
        ("cmake_no_source", r"Cannot find source file:"),
        ("cmake_no_package_config", r'Could not find a package configuration file provided by ".*" with any(?: of)?'),
        ("cmake_by_not_providing", r'By not providing ".*" in CMAKE_MODULE_PATH this project has'),
        ("cmake_no_sources", r"No SOURCES given to target: \S+"),
        ("cmake_version_required", r"CMake [\d.]+ or higher is required\.  You are running version [\d.]+"),
        ("cmake_generate_step", r"CMake Generate step failed\.  Build files cannot be regenerated correctly\."),
        ("cmake_no_cmake_minimum", r"No cmake_minimum_required command is present\..*"),
    ],
    "python": [
        ("py_json_decode", r"json\.decoder\.JSONDecodeError: Expecting value: line \d+ column \d+ \(char \d+\)"),
        ("py_json_decode_delim", r"json\.decoder\.JSONDecodeError: Expecting .* delimiter: line \d+ column \d+ \(char \d+\)"),
        ("py_positional_args", r"TypeError: \w+\(\) takes \d+ positional arguments? but \d+ were given"),
        ("py_zero_division", r"ZeroDivisionError: division by zero"),
        ("py_unsupported_operand", r"TypeError: unsupported operand type\(s\) for .+: '.*' and '.*'"),
        ("py_worker_failed", r"RuntimeError: worker \d+ failed on host \S+"),
        ("py_index_error", r"IndexError: list index out of range"),
        ("py_assertion", r"AssertionError: expected negative, got -?\d+"),
        ("py_name_error", r"NameError: name '.*' is not defined"),
        ("py_invalid_int", r"ValueError: invalid literal for int\(\) with base \d+: '.*'"),
        ("py_float_convert", r"ValueError: could not convert string to float: '.*'"),
        ("py_module_not_found", r"ModuleNotFoundError: No module named '.*'"),
        ("py_key_error", r"KeyError: '.*'"),
        ("py_none_attribute", r"AttributeError: 'NoneType' object has no attribute '.*'"),
        ("py_file_not_found", r"FileNotFoundError: \[Errno 2\] No such file or directory: '.*'"),
        ("py_str_concat", r'TypeError: can only concatenate str \(not ".*"\) to str'),
    ],
    "net": [
        ("ssh_no_pty", r"Pseudo-terminal will not be allocated because stdin is not a terminal\."),
        ("curl_connect_failed", r"curl: \(7\) Failed to connect to \S+ port \d+ after \d+ ms: Couldn't connect to server"),
        ("git_cannot_chdir", r"fatal: cannot change to '.*': No such file or directory"),
        ("wget_exit", r"wget: exit status \d+"),
        ("curl_empty_reply", r"curl: \(52\) Empty reply from server"),
        ("ssh_refused", r"ssh: connect to host \S+ port \d+: Connection refused"),
        ("psql_refused", r'psql: error: connection to server at ".*", port \d+ failed: Connection refused'),
        ("psql_refused_hint", r"Is the server running on that host and accepting TCP/IP connections\?"),
        ("ssh_resolve", r"ssh: Could not resolve hostname \S+: Name or service not known"),
        ("git_unable_access", r"fatal: unable to access '.*': Failed to connect to \S+ port \d+ after \d+ ms: Couldn't connect to server"),
        ("curl_resolve", r"curl: \(6\) Could not resolve host: \S+"),
        ("curl_http_error", r"curl: \(22\) The requested URL returned error: \d+"),
        ("curl_ssl", r"curl: \(35\) .*"),
        ("ssh_permission_denied", r"\S+@\S+: Permission denied \(.*\)\."),
        ("ssh_closed", r"Connection closed by \S+ port \d+"),
        ("ssh_kex", r"kex_exchange_identification: .*"),
        ("psql_password", r'psql: error: connection to server at ".*", port \d+ failed: fw password supplied'),
    ],
}


def sources(raw, varlog):
    pg_log = os.path.join(raw, "postgresql.log")
    yield "postgres", open(pg_log, errors="replace").read().splitlines()
    yield "dpkg", open(os.path.join(varlog, "dpkg.log")).read().splitlines()
    yield "alternatives", open(os.path.join(varlog, "alternatives.log")).read().splitlines()
    yield "apt_history", open(os.path.join(varlog, "apt/history.log")).read().splitlines()
    yield "apt_term", open(os.path.join(varlog, "apt/term.log")).read().splitlines()
    for name in ("gcc", "cmake", "python", "net"):
        yield name, open(os.path.join(raw, name + ".log")).read().splitlines()


# Lines kept per source: all of the small ones, every k-th line of the large
# real logs, but every line of an event seen fewer than RARE times.
EVERY = {"dpkg": 8, "apt_term": 4}
RARE = 12


def main():
    raw, varlog = sys.argv[1], sys.argv[2]
    rules = {s: [(e, re.compile(r)) for e, r in rs] for s, rs in RULES.items()}
    unmatched = []
    out = sys.stdout
    out.write("source\tevent\tmessage\n")
    for source, lines in sources(raw, varlog):
        labelled = []
        for line in lines:
            if source == "postgres" and (not re.match(r"^\d{4}-", line) or " STATEMENT:  " in line):
                continue  # continuation lines and the statement echo are not messages
            header = HEADERS.get(source)
            message = header.sub("", line, count=1) if header else line
            message = message.strip()
            if not message:
                continue
            for event, rx in rules[source]:
                if rx.fullmatch(message):
                    labelled.append((event, message))
                    break
            else:
                # A message seen once in the real apt log that no rule names is
                # its own event: its whole text is fixed.
                if source == "apt_term" and sum(1 for l in lines if l.strip() == message) == 1:
                    labelled.append(("term_once_" + re.sub(r"\W+", "_", message)[:40], message))
                else:
                    unmatched.append((source, message))
        counts = {}
        for e, _ in labelled:
            counts[e] = counts.get(e, 0) + 1
        k = EVERY.get(source, 1)
        seen = {}
        for event, message in labelled:
            seen[event] = seen.get(event, 0) + 1
            if counts[event] < RARE or seen[event] % k == 1 or k == 1:
                out.write(f"{source}\t{event}\t{message.replace(chr(9), ' ')}\n")
    if unmatched:
        for s, m in unmatched[:80]:
            print(f"unlabelled {s}: {m}", file=sys.stderr)
        print(f"{len(unmatched)} unlabelled lines", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
