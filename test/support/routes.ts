import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

export interface Route {
  method: string;
  path: string;
}

/** Every controller route of the running application, as `GET /v1/accounts/:id`. */
export function routesOf(app: NestFastifyApplication): Route[] {
  const routes: Route[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (controller === null) continue;
      const prefix = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const path: unknown = Reflect.getMetadata(PATH_METADATA, handler);
        const method: unknown = Reflect.getMetadata(METHOD_METADATA, handler);
        if (typeof path !== 'string' || typeof method !== 'number') continue;
        const full = `/${[prefix, path]
          .map((p) => p.replace(/^\/|\/$/g, ''))
          .filter((p) => p !== '')
          .join('/')}`;
        routes.push({ method: RequestMethod[method] ?? String(method), path: full });
      }
    }
  }
  return routes;
}
