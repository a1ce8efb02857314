// A kiln plugin in TypeScript: sets the label `team` on every resource from `with:`.
import type { PluginError, PluginInfo, Request, Response } from '../types/plugin.js';

export function info(): PluginInfo {
  return { name: '{{name}}', version: '0.1.0', description: 'Sets the label `team` from `with:`' };
}

export function render(request: Request): Response {
  const team: unknown = JSON.parse(request.config || '{}').team;
  if (typeof team !== 'string') {
    const error: PluginError = { kind: 'bad-config', message: 'missing config key `team`', hint: 'give the step `with: {team: NAME}`' };
    throw error;
  }
  const resources = request.resources.map((text) => {
    const doc = JSON.parse(text);
    doc.metadata ??= {};
    doc.metadata.labels = { ...doc.metadata.labels, team };
    return JSON.stringify(doc);
  });
  return { resources, diagnostics: [] };
}
