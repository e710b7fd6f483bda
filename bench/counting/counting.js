/**
 * Counters on thinking-edge's storage bindings, for `npm run bench` only. bench/start-servers.ts
 * writes an entry module next to the `wrangler deploy --dry-run` bundle that wraps the bundle's
 * fetch handler with `countingHandler` and each of its Durable Object classes with
 * `countedClass`, so that every call on a KV namespace (get, put, delete, list…) and every
 * method called on a Durable Object stub is counted — from the Worker and from inside its
 * Durable Objects alike — by binding and method, with the time each call took to settle.
 * `GET /__bench/ops` answers `{counts, waits}` so far.
 * The code under test is imported unchanged. Plain JavaScript on purpose: it sits on
 * Workers-typed code that bench's Node typecheck cannot see.
 */

const counts = {};
/** Milliseconds from each call to its settlement (workerd's clock advances on I/O only). */
const waits = {};

/** Counts a call and times its result, returning the result itself (RPC pipelining intact). */
function counted(name, call) {
  counts[name] = (counts[name] ?? 0) + 1;
  const started = Date.now();
  const result = call();
  const settle = () => {
    waits[name] = (waits[name] ?? 0) + (Date.now() - started);
  };
  Promise.resolve(result).then(settle, settle);
  return result;
}

const isKv = (value) =>
  value !== null &&
  typeof value === 'object' &&
  typeof value.getWithMetadata === 'function' &&
  typeof value.put === 'function';

const isDoNamespace = (value) =>
  value !== null &&
  typeof value === 'object' &&
  typeof value.idFromName === 'function' &&
  typeof value.get === 'function';

function countedKv(kv, binding) {
  return new Proxy(kv, {
    get(target, prop) {
      const value = target[prop];
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      return (...args) => counted(`kv ${binding}.${prop}`, () => value.apply(target, args));
    },
  });
}

function countedStub(stub, binding) {
  return new Proxy(stub, {
    get(target, prop) {
      if (typeof prop !== 'string' || prop === 'then' || prop === 'id' || prop === 'name') {
        return target[prop];
      }
      return (...args) => counted(`do ${binding}.${prop}`, () => target[prop](...args));
    },
  });
}

function countedNamespace(ns, binding) {
  return new Proxy(ns, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'get' || prop === 'getByName') {
        return (...args) => countedStub(value.apply(target, args), binding);
      }
      return value.bind(target);
    },
  });
}

const wrapped = new WeakMap();

/** The same bindings, KV namespaces and Durable Object namespaces counted. */
export function countedEnv(env) {
  let out = wrapped.get(env);
  if (!out) {
    out = { ...env };
    for (const [name, value] of Object.entries(env)) {
      if (isKv(value)) out[name] = countedKv(value, name);
      else if (isDoNamespace(value)) out[name] = countedNamespace(value, name);
    }
    wrapped.set(env, out);
  }
  return out;
}

/** The Worker's fetch handler on counted bindings, plus `GET /__bench/ops`. */
export function countingHandler(handler) {
  return {
    fetch(request, env, ctx) {
      if (new URL(request.url).pathname === '/__bench/ops') return Response.json({ counts, waits });
      return handler.fetch(request, countedEnv(env), ctx);
    },
  };
}

/** A Durable Object class whose instances see counted bindings. */
export function countedClass(Base) {
  return class extends Base {
    constructor(ctx, env) {
      super(ctx, countedEnv(env));
    }
  };
}
