#!/usr/bin/env python3
"""Produces the raw logs behind corpus.tsv on this machine (see README.md here).

  provoke.py postgres SOCKET_DIR PORT   provoke errors in a scratch PostgreSQL cluster
  provoke.py tools OUT_DIR              gcc, clang, cmake, python, curl, ssh, git, wget errors

Values (names, numbers, sizes) are drawn with a fixed seed so a rerun gives
the same kinds of lines; times and process ids differ from run to run.
"""
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

rng = random.Random(20261122)
WORDS = ("orders users accounts invoices events sessions metrics payments items carts shipments reviews tags "
         "logins audit_log customer_notes stock warehouses price_history refunds").split()
COLUMNS = "id name email total created_at status amount qty user_id sku note price region score".split()


def word():
    return rng.choice(WORDS)


def ident():
    return rng.choice(WORDS) + rng.choice(["", "_" + str(rng.randint(1, 99)), "_v2", "_tmp", "_old", "x"])


def psql(socket, port, sql, user="postgres", db="postgres", host=None, password=None, check=False):
    env = dict(os.environ, PGCONNECT_TIMEOUT="3")
    if password is not None:
        env["PGPASSWORD"] = password
    cmd = ["psql", "-X", "-q", "-h", host or socket, "-p", str(port), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=0"]
    return subprocess.run(cmd, input=sql + "\n", env=env, capture_output=True, text=True, check=check)


def postgres(socket, port):
    setup = """
DROP DATABASE IF EXISTS shop; CREATE DATABASE shop;
"""
    psql(socket, port, setup + "\n")
    schema = ["CREATE TABLE IF NOT EXISTS parent (id int PRIMARY KEY);",
              "INSERT INTO parent SELECT g FROM generate_series(1, 10) g ON CONFLICT DO NOTHING;"]
    for t in WORDS[:8]:
        schema.append(f"CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY, name varchar(8) NOT NULL, "
                      f"qty int CHECK (qty >= 0), parent_id int REFERENCES parent(id));")
    for i in range(1, 8):
        schema.append(f"DO $$BEGIN CREATE ROLE app_user{i} LOGIN PASSWORD 'secret{i}'; "
                      f"EXCEPTION WHEN duplicate_object THEN NULL; END$$;")
    schema.append("CREATE SCHEMA IF NOT EXISTS private; CREATE TABLE IF NOT EXISTS private.secrets (k text);")
    psql(socket, port, "\n".join(schema) + "\n", db="shop")

    stmts = []
    for _ in range(420):
        t = rng.choice(WORDS[:8])
        kind = rng.randrange(22)
        n = rng.randint(1, 10**rng.randint(1, 6))
        if kind == 0:
            stmts.append(rng.choice(["SELEC * FROM ", "SELECT * FORM ", "INSERT INTO VALUES ", "UPDATE SET x = 1 ",
                                     "SELECT 1 + * FROM ", "DELET FROM "]) + t + ";")
        elif kind == 1:
            stmts.append(f"SELECT * FROM {ident()}_missing WHERE id = {n};")
        elif kind == 2:
            stmts.append(f"SELECT {rng.choice(COLUMNS)}_{rng.randint(1, 9)} FROM {t};")
        elif kind == 3:
            stmts.append(f"SELECT {rng.choice(['calc', 'compute', 'fetch', 'score'])}_{word()}({n});")
        elif kind == 4:
            stmts.append(f"INSERT INTO {t} VALUES ({n % 50}, 'x', 1, 1) ON CONFLICT DO NOTHING; "
                         f"INSERT INTO {t} VALUES ({n % 50}, 'y', 1, 1);")
        elif kind == 5:
            stmts.append(f"SELECT {n} / 0;")
        elif kind == 6:
            stmts.append(f"SELECT '{rng.choice(['abc', 'x1', '12b', 'NaNa', '--', 'one'])}'::int + {n};")
        elif kind == 7:
            stmts.append(f"INSERT INTO {t} (id, name) VALUES ({n + 100}, NULL);")
        elif kind == 8:
            stmts.append(f"INSERT INTO {t} VALUES ({n + 1000}, 'n', 1, {rng.randint(11, 999)});")
        elif kind == 9:
            stmts.append(f"INSERT INTO {t} VALUES ({n + 2000}, 'n', -{n}, 1);")
        elif kind == 10:
            stmts.append(f"INSERT INTO {t} VALUES ({n + 3000}, '{'x' * rng.randint(9, 30)}', 1, 1);")
        elif kind == 11:
            stmts.append(f"SELECT {2**31 + n}::int;")
        elif kind == 12:
            stmts.append(f"CREATE TABLE {t} (id int);")
        elif kind == 13:
            stmts.append(f"DROP TABLE {ident()}_gone;")
        elif kind == 14:
            stmts.append(f"SELECT NULL::{rng.choice(['money2', 'jsonx', 'uuidv', 'vector3', 'text_array'])};")
        elif kind == 15:
            stmts.append(f"BEGIN; SELECT 1/0; SELECT {n}; ROLLBACK;")
        elif kind == 16:
            stmts.append(f"SET statement_timeout = '{rng.randint(10, 60)}ms'; SELECT pg_sleep(0.2); "
                         f"RESET statement_timeout;")
        elif kind == 17:
            stmts.append(f"SELECT * FROM {t} WHERE id = ANY('{{{','.join(str(rng.randint(1, 999)) for _ in range(rng.randint(1, 6)))}}}'::int[]) AND name = 1 + 'a';")
        elif kind == 18:
            stmts.append(f"SELECT * FROM generate_series(1, 3) g JOIN {t} USING (nope_{rng.randint(1, 9)});")
        elif kind == 19:
            stmts.append(f"ALTER TABLE {t} ADD COLUMN {rng.choice(COLUMNS)} int;")
        elif kind == 20:
            stmts.append(f"SELECT to_date('{rng.randint(2000, 2030)}-{rng.randint(13, 40)}-01', 'YYYY-MM-DD');")
        else:
            stmts.append(f"SELECT jsonb_extract_path('{{\"a\": {n}'::jsonb, 'a');")
    psql(socket, port, "\n".join(stmts) + "\n", db="shop")

    # Permission errors as unprivileged roles.
    for i in range(40):
        u = f"app_user{rng.randint(1, 7)}"
        t = rng.choice(WORDS[:8] + ["private.secrets"])
        psql(socket, port, f"SELECT * FROM {t} LIMIT {i};", user=u, db="shop")
        if i % 4 == 0:
            psql(socket, port, f"CREATE TABLE x{i} (a int);", user=u, db="shop")

    # Connection failures: unknown roles and databases, wrong passwords over TCP.
    for i in range(60):
        kind = i % 4
        if kind == 0:
            psql(socket, port, "SELECT 1", user=f"{word()}{rng.randint(1, 500)}")
        elif kind == 1:
            psql(socket, port, "SELECT 1", db=f"{word()}_{rng.choice(['prod', 'dev', 'test'])}{rng.randint(1, 9)}")
        elif kind == 2:
            psql(socket, port, "SELECT 1", user=f"app_user{rng.randint(1, 7)}", db="shop", host="127.0.0.1",
                 password=f"wrong{rng.randint(1, 99)}")
        else:
            psql(socket, port, "SELECT 1", user=f"ghost{rng.randint(1, 99)}", db="shop", host="127.0.0.1",
                 password="x")

    # Lock timeouts and deadlocks between two sessions.
    for i in range(12):
        t = rng.choice(WORDS[:8])
        holder = subprocess.Popen(["psql", "-X", "-q", "-h", socket, "-p", str(port), "-d", "shop", "-c",
                                   f"BEGIN; LOCK TABLE {t}; SELECT pg_sleep(0.6); COMMIT;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        psql(socket, port, f"SET lock_timeout = '{rng.randint(20, 90)}ms'; SELECT count(*) FROM {t};", db="shop")
        holder.wait()
    for i in range(10):
        t = rng.choice(WORDS[:8])
        a, b = rng.randint(1, 40), rng.randint(41, 80)
        psql(socket, port, f"INSERT INTO {t} VALUES ({a}, 'a', 1, 1), ({b}, 'b', 1, 1) ON CONFLICT DO NOTHING;",
             db="shop")
        sql1 = f"BEGIN; UPDATE {t} SET qty = qty + 1 WHERE id = {a}; SELECT pg_sleep(0.3); UPDATE {t} SET qty = qty + 1 WHERE id = {b}; COMMIT;"
        sql2 = f"BEGIN; UPDATE {t} SET qty = qty + 1 WHERE id = {b}; SELECT pg_sleep(0.3); UPDATE {t} SET qty = qty + 1 WHERE id = {a}; COMMIT;"
        threads = [threading.Thread(target=psql, args=(socket, port, s), kwargs={"db": "shop"}) for s in (sql1, sql2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()


def run(cmd, cwd=None, stdin=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, input=stdin,
                       env=dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", TERM="dumb"), timeout=60)
    return p.stdout + p.stderr


def tools(out):
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="corpus-")
    logs = {k: open(os.path.join(out, k + ".log"), "w") for k in ("gcc", "cmake", "python", "net")}

    # Compiler errors: one broken file per case, names drawn at random.
    cases = [
        "int main() {{ return {v}; }}",
        "int main() {{ int {v} = 1 return {v}; }}",
        "struct {T} {{ int a; }}; int main() {{ {T} s; return s.{v}; }}",
        "int main() {{ {T} x; return 0; }}",
        "#include <{h}.h>\nint main() {{ return 0; }}",
        "int {f}(int a) {{ return a; }} int main() {{ return {f}(1, 2); }}",
        "int main() {{ char *p = {n}; return *p; }}",
        "int main() {{ int a[{n}]; return a[0] }}",
        "void {f}(); int {f}() {{ return 0; }}",
        "int main() {{ const int {v} = 1; {v} = {n}; return {v}; }}",
    ]
    for i in range(150):
        src = rng.choice(cases).format(v=f"{rng.choice(['count', 'idx', 'total', 'buf', 'len'])}{rng.randint(0, 99)}",
                                       T=f"{rng.choice(['Node', 'Item', 'Conf', 'Req'])}{rng.randint(1, 9)}",
                                       h=f"{rng.choice(['missing', 'vendor', 'gen', 'proto'])}_{rng.randint(1, 99)}",
                                       f=f"{rng.choice(['parse', 'load', 'emit', 'scan'])}_{word()}",
                                       n=rng.randint(1, 5000))
        name = os.path.join(work, f"{rng.choice(['main', 'util', 'net', 'db'])}_{i}.c")
        open(name, "w").write(src + "\n")
        compiler = "gcc" if i % 2 == 0 else "clang"
        for line in run([compiler, "-fsyntax-only", "-Wall", name], cwd=work).splitlines():
            if ": error: " in line or ": warning: " in line or "fatal error" in line:
                logs["gcc"].write(line.replace(work + "/", "") + "\n")

    # CMake configure errors.
    cmake_cases = [
        "cmake_minimum_required(VERSION 3.{n})\nproject(p{n} C)\nfind_package({P} REQUIRED)\n",
        "cmake_minimum_required(VERSION 3.{n})\nproject(p{n} C)\nadd_executable(app{n} missing_{n}.c)\n",
        "cmake_minimum_required(VERSION 3.{n})\nproject(p{n} C)\nadd_subdirectory(sub_{n})\n",
        "cmake_minimum_required(VERSION 3.{n})\nproject(p{n} C)\ninclude({P}Helpers)\n",
        "cmake_minimum_required(VERSION 3.{n})\nproject(p{n} C)\ntarget_link_libraries(nothere{n} m)\n",
        "cmake_minimum_required(VERSION 9{n}.0)\n",
    ]
    for i in range(40):
        d = os.path.join(work, f"cm{i}")
        os.makedirs(d)
        open(os.path.join(d, "CMakeLists.txt"), "w").write(rng.choice(cmake_cases).format(
            n=rng.randint(10, 25), P=rng.choice(["Foo", "LibXyz", "Snappy", "Grpc", "Arrow", "Qt9", "Boost2"])))
        for line in run(["cmake", "-S", d, "-B", os.path.join(d, "b")]).splitlines():
            if line.startswith("CMake Error") or line.startswith("  ") and ("not" in line or "Could" in line):
                logs["cmake"].write(line.strip() + "\n")

    # Python: the last line of each traceback.
    py_cases = [
        "d = {{'a': 1}}; d['{w}']",
        "print({n} / 0)",
        "import {w}_{n}",
        "open('/tmp/{w}/{n}.txt')",
        "[1, 2][{n}]",
        "None.{w}",
        "int('{w}{n}x')",
        "{w}_{n} + 1",
        "1 + '{w}'",
        "import json; json.loads('{{\"{w}\": ')",
        "float('nan{w}')",
        "raise RuntimeError('worker {n} failed on host node-{n}')",
        "import os; os.rmdir('/tmp/absent_{w}_{n}')",
        "assert {n} < 0, 'expected negative, got {n}'",
        "def f(a): pass\nf(1, {n})",
    ]
    for i in range(220):
        src = rng.choice(py_cases).format(w=word(), n=rng.randint(1, 99999))
        out_lines = run([sys.executable, "-c", src]).strip().splitlines()
        if out_lines:
            logs["python"].write(out_lines[-1] + "\n")

    # Network clients against closed ports, unknown hosts and HTTP errors.
    net_cases = [
        ["curl", "-sS", "--max-time", "2", "http://127.0.0.1:{p}/{w}"],
        ["curl", "-sS", "--max-time", "2", "http://{w}-{n}.invalid/"],
        ["curl", "-sS", "--max-time", "2", "-f", "http://127.0.0.1:5462/{w}"],
        ["curl", "-sS", "--max-time", "2", "https://127.0.0.1:{p}/"],
        ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-p", "{p}", "{w}@127.0.0.1"],
        ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "{w}@{w}{n}.invalid"],
        ["git", "clone", "-q", "http://127.0.0.1:{p}/{w}.git", os.path.join(work, "g{n}")],
        ["git", "-C", "/tmp/no_repo_{n}", "status"],
        ["wget", "-q", "--tries=1", "--timeout=2", "http://127.0.0.1:{p}/{w}.tar.gz", "-O", "/dev/null"],
        ["psql", "-X", "-h", "127.0.0.1", "-p", "{p}", "-U", "{w}", "-c", "select 1"],
    ]
    for i in range(170):
        n, p = rng.randint(1, 9999), rng.choice([rng.randint(1024, 65000), rng.randint(1, 1023)])
        w = word()
        cmd = [a.format(w=w, n=n, p=p) for a in rng.choice(net_cases)]
        out = run(cmd).strip()
        if cmd[0] == "wget":
            out = out or f"wget: exit status {subprocess.run(cmd, capture_output=True).returncode}"
        for line in out.splitlines():
            if line.strip():
                logs["net"].write(line.strip() + "\n")
    for f in logs.values():
        f.close()


if __name__ == "__main__":
    if sys.argv[1] == "postgres":
        postgres(sys.argv[2], int(sys.argv[3]))
    else:
        tools(sys.argv[2])
