// The `plugin` world of wit/plugin.wit (kiln:plugin@0.1.0) as componentize-qjs
// maps it: records are objects with camelCase fields, enums are strings, an
// absent option is undefined, and a thrown `PluginError` is the `err` case of
// render's result.

export interface PluginInfo {
  name: string;
  version: string;
  description: string;
  configSchema?: string;
}

export interface Context {
  appName: string;
  appDir: string;
  namespace?: string;
  sourceRevision?: string;
  kubeVersion: string;
  apiVersions: string[];
  step: string;
}

export interface Request {
  /** One JSON object per resource, in pipeline order. */
  resources: string[];
  /** The step's `with:` as JSON. */
  config: string;
  context: Context;
}

export interface FileLocation {
  path: string;
  index?: number;
  line?: number;
  column?: number;
}

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  message: string;
  resourceRef?: ResourceRef;
  fieldPath?: string;
  file?: FileLocation;
  tags: [string, string][];
}

export interface Response {
  resources: string[];
  diagnostics: Diagnostic[];
}

export interface PluginError {
  kind: 'bad-config' | 'bad-input' | 'plugin-failure';
  message: string;
  file?: FileLocation;
  hint?: string;
}
