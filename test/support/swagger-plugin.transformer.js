// Runs the @nestjs/swagger CLI plugin under ts-jest, so the OpenAPI document the tests see is the one `nest build`
// produces (the plugin adds the @ApiProperty metadata that DTOs do not spell out). Options match nest-cli.json.
const plugin = require('@nestjs/swagger/plugin');
const { plugins } = require('../../nest-cli.json').compilerOptions;

const options = plugins.find((p) => p.name === '@nestjs/swagger').options;

module.exports = {
  name: 'runnerhub-nestjs-swagger',
  // Bump when the options change, so ts-jest's cache does not serve files transformed under the old ones.
  version: 1,
  factory: (tsCompiler) => plugin.before(options, tsCompiler.program),
};
