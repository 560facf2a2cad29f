/**
 * Where the `llm` executor's model calls go: the providers' settings (key, base URL, headers),
 * read from the handler's options and the environment, and the AI SDK model for a model id.
 *
 * Keys are looked up when a task first needs them and never leave this module except inside the
 * provider client; {@link Providers.secrets} lists them so error messages can be scrubbed.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';

import { NonRetryableError } from '../../core/errors.ts';
import type { ModelRef } from '../../core/llm.ts';

/** Settings of Anthropic or OpenAI. */
export interface ProviderSettings {
  /**
   * The API key. Never put it in a plan or a payload.
   * @default the environment's `ANTHROPIC_API_KEY` or `OPENAI_API_KEY`
   */
  apiKey?: string;
  /**
   * The API's base URL, read as the official SDKs read `ANTHROPIC_BASE_URL` and
   * `OPENAI_BASE_URL`: Anthropic's is the server root (`/v1/messages` is appended; a URL already
   * ending in `/v1` is taken as it is), OpenAI's includes the version (`…/v1`).
   * @default the environment's `ANTHROPIC_BASE_URL` / `OPENAI_BASE_URL`, else the public API
   */
  baseUrl?: string;
  /** Headers sent with every request (a proxy's auth, an organisation id). @default {} */
  headers?: Record<string, string>;
}

/** An OpenAI-compatible server (vLLM, Ollama, LM Studio, a gateway), named in model ids. */
export interface CompatibleSettings {
  /**
   * Its base URL, up to and including the version: requests go to `{baseUrl}/chat/completions`.
   * @example 'http://127.0.0.1:11434/v1'
   */
  baseUrl: string;
  /** Its API key, when it wants one (sent as `Authorization: Bearer`). @default none */
  apiKey?: string;
  /** Headers sent with every request. @default {} */
  headers?: Record<string, string>;
  /**
   * Send an `output` schema as `response_format: { type: 'json_schema' }` (vLLM, Ollama, LM Studio
   * and most gateways take it); false sends `{ type: 'json_object' }` and relies on the prompt.
   * @default true
   */
  structuredOutputs?: boolean;
}

/** The providers a handler can call. */
export interface LlmProviders {
  anthropic?: ProviderSettings;
  openai?: ProviderSettings;
  /**
   * OpenAI-compatible servers by name: `openai-compatible:<name>:<model>` calls `<name>`. A name
   * not listed here is looked up in the environment as `BATON_OPENAI_COMPATIBLE_<NAME>_BASE_URL`
   * (and `…_API_KEY`), `<NAME>` upper-cased with `-` as `_`.
   * @default {}
   */
  compatible?: Record<string, CompatibleSettings>;
}

/** A model ready to call, and what to record it as. */
export interface ResolvedModel {
  model: LanguageModel;
  /** `anthropic`, `openai`, or the OpenAI-compatible server's name. */
  provider: string;
  /** The model's name at its provider. */
  modelName: string;
  /** The environment variable (or option) the key came from, for messages. */
  keySource: string;
}

const ENV_KEY = { anthropic: 'ANTHROPIC_API_KEY', openai: 'OPENAI_API_KEY' } as const;
const ENV_BASE_URL = { anthropic: 'ANTHROPIC_BASE_URL', openai: 'OPENAI_BASE_URL' } as const;
const LABEL = { anthropic: 'Anthropic', openai: 'OpenAI' } as const;

type Factory = (modelName: string) => LanguageModel;

/** The providers of one handler: settings resolved once, clients made on first use. */
export class Providers {
  readonly #options: LlmProviders;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #fetch: typeof fetch | undefined;
  readonly #factories = new Map<string, Factory>();
  /** Where each OpenAI-compatible server's key came from, for messages. */
  readonly #compatibleKeySources = new Map<string, string>();
  readonly #secrets = new Set<string>();

  constructor(
    options: LlmProviders,
    env: Readonly<Record<string, string | undefined>>,
    fetchImpl: typeof fetch | undefined,
  ) {
    this.#options = options;
    this.#env = env;
    this.#fetch = fetchImpl;
    // Every key this handler could send, so any message can be scrubbed of all of them.
    for (const value of [
      options.anthropic?.apiKey,
      options.openai?.apiKey,
      env[ENV_KEY.anthropic],
      env[ENV_KEY.openai],
      ...Object.values(options.compatible ?? {}).map((c) => c.apiKey),
    ]) {
      if (typeof value === 'string' && value !== '') this.#secrets.add(value);
    }
  }

  /** Every API key this handler knows, to be scrubbed from anything it reports. */
  get secrets(): readonly string[] {
    return [...this.#secrets];
  }

  /**
   * Why a call to `ref` cannot be made with these settings (a missing key, an OpenAI-compatible
   * server that is not configured), naming what to set but never a key; null when it can.
   * `from` says who reads the message: a worker's task error, or `baton run` before it submits.
   */
  problem(
    ref: Exclude<ModelRef, { provider: 'auto' }>,
    from: 'worker' | 'run' = 'worker',
  ): string | null {
    const where =
      from === 'worker'
        ? "the worker's environment"
        : 'the environment baton run is started in (its agents make the calls)';
    if (ref.provider === 'openai-compatible') {
      if (this.#compatibleSettings(ref.name) !== undefined) return null;
      const envName = compatibleEnvName(ref.name);
      const listed = Object.keys(this.#options.compatible ?? {});
      const option =
        from === 'worker'
          ? `pass providers.compatible.${ref.name} = { baseUrl } to llmHandler, or `
          : '';
      return `no OpenAI-compatible server named '${ref.name}' is configured${listed.length > 0 ? ` (configured: ${listed.join(', ')})` : ''}: ${option}set ${envName}_BASE_URL (and ${envName}_API_KEY if it wants a key) in ${where}`;
    }
    const { provider, model } = ref;
    if (this.#apiKey(provider) !== undefined) return null;
    const option =
      from === 'worker'
        ? ` (or pass providers.${provider}.apiKey to llmHandler), then retry the task`
        : '';
    return `${ENV_KEY[provider]} is not set: model ${provider}:${model} needs an ${LABEL[provider]} API key. Set ${ENV_KEY[provider]} in ${where}${option}`;
  }

  /**
   * The model for `ref` (not `auto`).
   * @throws NonRetryableError naming the missing key's variable (never a key), or an
   *   OpenAI-compatible server that is not configured.
   */
  resolve(ref: Exclude<ModelRef, { provider: 'auto' }>): ResolvedModel {
    if (ref.provider === 'openai-compatible') {
      const factory = this.#compatible(ref.name);
      return {
        model: factory(ref.model),
        provider: ref.name,
        modelName: ref.model,
        keySource: this.#compatibleKeySources.get(ref.name) ?? `providers.compatible.${ref.name}`,
      };
    }
    const factory = this.#factories.get(ref.provider) ?? this.#first(ref.provider, ref.model);
    return {
      model: factory(ref.model),
      provider: ref.provider,
      modelName: ref.model,
      keySource:
        this.#options[ref.provider]?.apiKey !== undefined
          ? `providers.${ref.provider}.apiKey`
          : ENV_KEY[ref.provider],
    };
  }

  #apiKey(provider: 'anthropic' | 'openai'): string | undefined {
    return nonEmpty(this.#options[provider]?.apiKey ?? this.#env[ENV_KEY[provider]]);
  }

  #first(provider: 'anthropic' | 'openai', model: string): Factory {
    const settings = this.#options[provider] ?? {};
    const apiKey = this.#apiKey(provider);
    if (apiKey === undefined) throw new NonRetryableError(this.problem({ provider, model })!);
    const baseUrl = settings.baseUrl ?? nonEmpty(this.#env[ENV_BASE_URL[provider]]);
    const common = {
      apiKey,
      ...(settings.headers !== undefined ? { headers: settings.headers } : {}),
      ...(this.#fetch !== undefined ? { fetch: this.#fetch } : {}),
    };
    let factory: Factory;
    if (provider === 'anthropic') {
      const client = createAnthropic({
        ...common,
        ...(baseUrl !== undefined ? { baseURL: anthropicBaseUrl(baseUrl) } : {}),
      });
      factory = (name) => client(name);
    } else {
      const client = createOpenAI({
        ...common,
        ...(baseUrl !== undefined ? { baseURL: baseUrl.replace(/\/+$/, '') } : {}),
      });
      // Chat Completions: what OpenAI-compatible servers speak too, and what `stream_options:
      // { include_usage }` reports usage through.
      factory = (name) => client.chat(name);
    }
    this.#factories.set(provider, factory);
    return factory;
  }

  /** A server's settings: from the options, else from `BATON_OPENAI_COMPATIBLE_<NAME>_*`. */
  #compatibleSettings(name: string): CompatibleSettings | undefined {
    const configured = this.#options.compatible?.[name];
    if (configured !== undefined) return configured;
    const envName = compatibleEnvName(name);
    const baseUrl = nonEmpty(this.#env[`${envName}_BASE_URL`]);
    if (baseUrl === undefined) return undefined;
    const apiKey = nonEmpty(this.#env[`${envName}_API_KEY`]);
    return { baseUrl, ...(apiKey !== undefined ? { apiKey } : {}) };
  }

  #compatible(name: string): Factory {
    const known = this.#factories.get(`compatible:${name}`);
    if (known !== undefined) return known;
    const envName = compatibleEnvName(name);
    const configured = this.#options.compatible?.[name];
    const settings = this.#compatibleSettings(name);
    if (settings === undefined) {
      throw new NonRetryableError(
        this.problem({ provider: 'openai-compatible', name, model: '' })!,
      );
    }
    if (settings.apiKey !== undefined && settings.apiKey !== '') this.#secrets.add(settings.apiKey);
    this.#compatibleKeySources.set(
      name,
      configured !== undefined
        ? `providers.compatible.${name}.apiKey`
        : settings.apiKey !== undefined
          ? `${envName}_API_KEY`
          : `${envName}_API_KEY (not set)`,
    );
    const client = createOpenAICompatible({
      name,
      baseURL: settings.baseUrl.replace(/\/+$/, ''),
      ...(settings.apiKey !== undefined && settings.apiKey !== ''
        ? { apiKey: settings.apiKey }
        : {}),
      ...(settings.headers !== undefined ? { headers: settings.headers } : {}),
      ...(this.#fetch !== undefined ? { fetch: this.#fetch } : {}),
      includeUsage: true,
      supportsStructuredOutputs: settings.structuredOutputs ?? true,
    });
    const factory: Factory = (model) => client.chatModel(model);
    this.#factories.set(`compatible:${name}`, factory);
    return factory;
  }
}

/** `BATON_OPENAI_COMPATIBLE_<NAME>`: upper case, `-` as `_`. */
function compatibleEnvName(name: string): string {
  return `BATON_OPENAI_COMPATIBLE_${name.toUpperCase().replace(/-/g, '_')}`;
}

/** `ANTHROPIC_BASE_URL` names the server root, as the official SDK reads it; the AI SDK wants `/v1`. */
function anthropicBaseUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
