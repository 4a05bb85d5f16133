import { unservedLabels } from './runner-labels';

describe(unservedLabels.name, () => {
  const served = ['self-hosted', 'linux', 'X64'];

  it('serves a job whose labels are all offered, whatever their case', () => {
    expect(unservedLabels(served, ['self-hosted', 'Linux', 'x64'])).toEqual([]);
    expect(unservedLabels(served, [])).toEqual([]);
  });

  it('names every label it does not offer', () => {
    expect(unservedLabels(served, ['self-hosted', 'gpu', 'windows'])).toEqual(['gpu', 'windows']);
  });
});
