// Route schemas compiled when their route is first used, not all of them when the server starts. Fastify builds a
// serializer (fast-json-stringify) for every response schema and a validator (Ajv) for every request schema before it
// listens: about 170 ms of each daemon's start, for routes most daemons never serve (a storage peer's API is rarely
// called). These factories wrap Fastify's own two, with the schemas and options Fastify gives them, so each route
// behaves exactly as before: same output filtering and coercion, same validation errors, only later.
import AjvCompiler, { type ValidatorFactory } from '@fastify/ajv-compiler';
import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

/** A function made by `make()` on its first call (and again only if making it threw). */
function onFirstUse<F extends (...args: any[]) => any>(make: () => F): F {
  let f: F | undefined;
  return ((...args: unknown[]) => (f ??= make())(...args)) as F;
}

type ValidateFunction = ReturnType<ReturnType<ValidatorFactory>>;

export function lazyCompilers(): { buildValidator: ValidatorFactory; buildSerializer: SerializerFactory } {
  const serializers = SerializerSelector();
  const validators = AjvCompiler();
  return {
    buildSerializer(externalSchemas, options) {
      const compile = onFirstUse(() => serializers(externalSchemas, options));
      return (route) => onFirstUse(() => compile(route));
    },
    buildValidator(externalSchemas, options) {
      const compile = onFirstUse(() => validators(externalSchemas, options));
      return (route) => {
        let validate: ValidateFunction | undefined;
        // Fastify reads a failed validation's reasons from the function's `errors`, as Ajv leaves them.
        const lazy = Object.assign(
          (data: unknown) => {
            validate ??= compile(route);
            const ok = validate(data);
            lazy.errors = validate.errors;
            return ok;
          },
          { errors: undefined as unknown }
        );
        // Typed as Ajv's own function; Fastify calls it and reads `errors`, nothing else.
        return lazy as unknown as ValidateFunction;
      };
    }
  };
}
