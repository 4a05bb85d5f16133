import { ConfigurationError, loadAppConfig } from './app-config';
import { DEFAULT_ENGINE_NAME, parseDockerEngines } from './engine-settings';

describe('DOCKER_ENGINES', () => {
  it('reads each engine as the docker CLI would be pointed at it, with its labels and capacity', () => {
    const { engines, problems } = parseDockerEngines(
      JSON.stringify([
        { name: 'a', host: 'unix:///var/run/docker.sock' },
        {
          name: 'b',
          host: 'tcp://10.0.0.2:2376',
          tlsVerify: true,
          certPath: '/etc/runnerhub/b',
          labels: ['GPU', 'gpu', 'arm64'],
          memoryMb: 65536,
          cpus: 15.5,
          maxContainers: 20,
          network: 'runners',
        },
      ]),
    );
    expect(problems).toEqual([]);
    expect(engines).toEqual([
      { name: 'a', endpoint: { kind: 'socket', socketPath: '/var/run/docker.sock' }, labels: [], capacity: {} },
      {
        name: 'b',
        endpoint: {
          kind: 'tcp',
          protocol: 'https',
          host: '10.0.0.2',
          port: 2376,
          tls: { certPath: '/etc/runnerhub/b' },
        },
        labels: ['gpu', 'arm64'],
        capacity: { memoryMb: 65536, cpus: 15.5, maxContainers: 20 },
        network: 'runners',
      },
    ]);
  });

  it('names every problem with the engine and the field, and takes none of the engines then', () => {
    const { engines, problems } = parseDockerEngines(
      JSON.stringify([
        { name: 'A b', host: 'ftp://x' },
        { name: 'c', host: 'unix:///s', tlsVerify: true, maxContainers: 0, colour: 'red' },
        { name: 'd', host: 'unix:///s' },
        { name: 'd', host: 'unix:///t' },
      ]),
    );
    expect(engines).toEqual([]);
    expect(problems).toEqual([
      'DOCKER_ENGINES[0].name must be 1-63 lower-case letters, digits and dashes, starting with a letter or digit',
      'DOCKER_ENGINES[0].host must be unix:///path/to/docker.sock or tcp://host:port (as DOCKER_HOST takes it)',
      expect.stringContaining('DOCKER_ENGINES[1].colour is not a field of an engine'),
      'DOCKER_ENGINES[1].tlsVerify applies to tcp:// hosts only; a unix socket is not spoken to over TLS',
      'DOCKER_ENGINES[1].maxContainers must be a whole number from 1 to 10000',
      'DOCKER_ENGINES[3].name "d" is given twice: each engine needs a name of its own',
    ]);
  });

  it('refuses anything but a non-empty array, at start, with an example', () => {
    expect(() => loadAppConfig({ DOCKER_ENGINES: '[]' })).toThrow(ConfigurationError);
    expect(() => loadAppConfig({ DOCKER_ENGINES: '{"name":"a"}' })).toThrow(/DOCKER_ENGINES must be a JSON array/);
  });

  it('leaves DOCKER_HOST as the one engine `default` when unset, and uses the first engine as config.docker', () => {
    const single = loadAppConfig({ DOCKER_HOST: 'tcp://10.0.0.9:2375' });
    expect(single.engines).toEqual([
      {
        name: DEFAULT_ENGINE_NAME,
        endpoint: { kind: 'tcp', protocol: 'http', host: '10.0.0.9', port: 2375 },
        labels: [],
        capacity: {},
      },
    ]);
    const fleet = loadAppConfig({
      DOCKER_ENGINES: '[{"name":"x","host":"unix:///x.sock"},{"name":"y","host":"unix:///y.sock"}]',
      PLACEMENT: 'pack',
    });
    expect(fleet.engines.map((engine) => engine.name)).toEqual(['x', 'y']);
    expect(fleet.docker).toEqual({ kind: 'socket', socketPath: '/x.sock' });
    expect(fleet.placement).toEqual({ mode: 'pack' });
  });
});
