import { ApiProperty } from '@nestjs/swagger';

/** Who made a write (SPEC 10), as every resource and log record shows it. */
export class ActorView {
  @ApiProperty({ enum: ['user', 'apiKey', 'external', 'system'] }) type: string;
  @ApiProperty({ description: "a user's or API key's id, `<iss>#<sub>` for an outside token, or `system`" })
  id: string;
  @ApiProperty() name: string;
}
