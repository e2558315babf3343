/**
 * What a run-time setting's value may be (docs/adr/0025-runtime-settings.md). Here, below both
 * layers that use it: config derives it from the config schema, services hand it to the API.
 */
export interface SettingRule {
  type: 'integer' | 'number' | 'boolean' | 'string';
  /** Allowed values (enums). */
  enum?: string[];
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
}
